// How the CLI prints: a command's result on stdout (JSON with --json, text otherwise), and
// messages for the operator on stderr.

/** `result` is the command's answer (JSON or text on stdout), `note` a message for the operator (stderr). */
export function output(json) {
  return {
    json,
    result(value, text) {
      if (json) process.stdout.write(JSON.stringify(value, null, 2) + "\n");
      else if (text) process.stdout.write(text + "\n");
    },
    note(message) {
      process.stderr.write(message + "\n");
    },
  };
}

/** `name  value` lines, for one record or one set of credentials. */
export function fields(object) {
  const width = Math.max(...Object.keys(object).map((k) => k.length));
  return Object.entries(object)
    .map(([key, value]) => `${key.padEnd(width)}  ${value === null || value === undefined ? "-" : typeof value === "object" ? JSON.stringify(value) : String(value)}`)
    .join("\n");
}

/** Rows as aligned columns; the first row is the heading. */
export function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

/** A list of keys, cut after `max`. */
export function abbreviate(keys, max = 5) {
  return keys.length <= max ? keys.join(", ") : `${keys.slice(0, max).join(", ")}, … ${keys.length - max} more`;
}
