// The OpenMetrics text exposition (https://openmetrics.io, the format Prometheus scrapes): metric
// families with TYPE and HELP, label values escaped, `# EOF` at the end. Pure: tested by parsing.

export type MetricType = "gauge" | "counter";

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  /** The family name; a counter's samples are named `<name>_total`. */
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

/** The media type of the exposition. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** OpenMetrics label value escaping: backslash, double quote and line feed. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Renders the families, in order, each sample on its own line, ending with `# EOF`. */
export function renderOpenMetrics(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# TYPE ${family.name} ${family.type}`, `# HELP ${family.name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    const sampleName = family.type === "counter" ? `${family.name}_total` : family.name;
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      lines.push(`${sampleName}${labels.length ? `{${labels.join(",")}}` : ""} ${formatValue(sample.value)}`);
    }
  }
  lines.push("# EOF");
  return lines.join("\n") + "\n";
}
