// The Prometheus text parser the metrics test reads the exposition with (the package ships no types).
declare module "parse-prometheus-text-format" {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
