// Admission cost against organisation size: a ledger with 200,000 committed backups against an
// empty one, each timed inside the bench worker as `n` reserve + release pairs in a row, rounds
// interleaved and the median ratio taken (the machine is shared).
import { median, round } from "../scripts/harness/statistics.mjs";

/** Seeds an empty and a large organisation, then measures reserve + release pairs per second on each; returns the figures. */
export async function ledgerReserveScaling(http, { rows = 200_000, rounds = 9, perRound = 300 } = {}) {
  const org = (name) => `bench-ledger-${name}-${Date.now().toString(36)}`;
  const empty = org("empty");
  const large = org("large");
  const post = async (path) => {
    const res = await http.request("POST", path, { keep: true });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
    return JSON.parse(res.text);
  };
  await post(`/__bench/ledger/seed?org=${empty}&rows=0`);
  const seeded = await post(`/__bench/ledger/seed?org=${large}&rows=${rows}`);
  if (seeded.usage !== rows * 1000) throw new Error(`seeded ${seeded.usage} bytes, expected ${rows * 1000}`);
  await post(`/__bench/ledger/reserve?org=${empty}&n=20`); // warm both
  await post(`/__bench/ledger/reserve?org=${large}&n=20`);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const rate = {};
    for (const [side, name] of r % 2 ? [["large", large], ["empty", empty]] : [["empty", empty], ["large", large]]) {
      const { ms } = await post(`/__bench/ledger/reserve?org=${name}&n=${perRound}`);
      rate[side] = perRound / (Math.max(ms, 1) / 1000);
    }
    results.push({ ...rate, ratio: rate.large / rate.empty });
  }
  return {
    ratio: round(median(results.map((r) => r.ratio)), 3),
    empty_pairs_per_s: round(median(results.map((r) => r.empty)), 0),
    large_pairs_per_s: round(median(results.map((r) => r.large)), 0),
    rows,
    rounds: results.length,
    per_round: perRound,
    round_ratios: results.map((r) => round(r.ratio, 3)),
  };
}
