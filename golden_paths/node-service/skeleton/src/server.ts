/**
 * HTTP entry point of ${{ values.name }} (owned by team ${{ values.owner }}).
 *
 * Plain `node:http` and a tiny route table: no runtime dependencies. Prometheus metrics are rendered
 * by hand in the text exposition format (see `Metrics`), which is all the SLO in slo.yaml needs.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";

export const SERVICE_NAME = "${{ values.name }}";
export const SERVICE_DESCRIPTION: string = ${{ values.description | dump }};
export const OWNER = "${{ values.owner }}";
export const VERSION = "0.1.0";

// ---------------------------------------------------------------------------------------------------
// Settings

/**
 * Runtime settings. Resource connections come from environment variables injected at deploy time;
 * every one of them is optional so the service starts (and its tests run) without any of them.
 */
export interface Settings {
  environment: string;
  port: number;
  databaseHost?: string;
  databasePort: number;
  databaseName?: string;
  databaseUser?: string;
  redisHost?: string;
  redisPort: number;
  bucketName?: string;
  queueUrl?: string;
}

type Env = Record<string, string | undefined>;

function envInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (!raw) return fallback;
  const value = Number.parseInt(raw, 10);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

function envString(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw ? raw : undefined;
}

export function settingsFromEnv(env: Env = process.env): Settings {
  return {
    environment: envString(env, "ENVIRONMENT") ?? "${{ values.environment }}",
    port: envInt(env, "PORT", ${{ values.http_port }}),
    databaseHost: envString(env, "DATABASE_HOST"),
    databasePort: envInt(env, "DATABASE_PORT", 5432),
    databaseName: envString(env, "DATABASE_NAME"),
    databaseUser: envString(env, "DATABASE_USER"),
    redisHost: envString(env, "REDIS_HOST"),
    redisPort: envInt(env, "REDIS_PORT", 6379),
    bucketName: envString(env, "BUCKET_NAME"),
    queueUrl: envString(env, "QUEUE_URL"),
  };
}

/** Which resources are configured (never their secrets). */
export function configuredResources(settings: Settings): Record<"database" | "redis" | "bucket" | "queue", boolean> {
  return {
    database: settings.databaseHost !== undefined,
    redis: settings.redisHost !== undefined,
    bucket: settings.bucketName !== undefined,
    queue: settings.queueUrl !== undefined,
  };
}

// ---------------------------------------------------------------------------------------------------
// Metrics

/**
 * Latency buckets in seconds: the Prometheus client defaults plus 0.3, the 300 ms bound of the latency
 * SLO, so slo.yaml counts requests slower than the bound exactly (keep them in step if you change it).
 */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10];

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * `http_requests_total` (counter by method, route and code) and `http_request_duration_seconds`
 * (histogram by method and route), in the Prometheus text format. Routes are templates such as
 * `/hello/:who`, so label cardinality stays bounded.
 */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();

  observe(method: string, route: string, code: number, seconds: number): void {
    const requestKey = JSON.stringify([method, route, String(code)]);
    this.requests.set(requestKey, (this.requests.get(requestKey) ?? 0) + 1);
    const durationKey = JSON.stringify([method, route]);
    const histogram = this.durations.get(durationKey) ?? { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
    this.durations.set(durationKey, histogram);
    DURATION_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) histogram.buckets[index] += 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
  }

  render(): string {
    const service = `service="${escapeLabel(SERVICE_NAME)}"`;
    const lines = ["# HELP http_requests_total HTTP requests handled.", "# TYPE http_requests_total counter"];
    for (const [key, count] of [...this.requests].sort()) {
      const [method, route, code] = JSON.parse(key) as [string, string, string];
      lines.push(
        `http_requests_total{${service},method="${escapeLabel(method)}",path="${escapeLabel(route)}",code="${code}"} ${count}`,
      );
    }
    lines.push(
      "# HELP http_request_duration_seconds Time spent handling HTTP requests.",
      "# TYPE http_request_duration_seconds histogram",
    );
    for (const [key, histogram] of [...this.durations].sort()) {
      const [method, route] = JSON.parse(key) as [string, string];
      const labels = `${service},method="${escapeLabel(method)}",path="${escapeLabel(route)}"`;
      DURATION_BUCKETS.forEach((bound, index) => {
        lines.push(`http_request_duration_seconds_bucket{${labels},le="${bound}"} ${histogram.buckets[index]}`);
      });
      lines.push(`http_request_duration_seconds_bucket{${labels},le="+Inf"} ${histogram.count}`);
      lines.push(`http_request_duration_seconds_sum{${labels}} ${histogram.sum.toFixed(6)}`);
      lines.push(`http_request_duration_seconds_count{${labels}} ${histogram.count}`);
    }
    return lines.join("\n") + "\n";
  }
}

// ---------------------------------------------------------------------------------------------------
// Routes

interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

type Handler = (params: Record<string, string>, url: URL) => Reply;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  handler: Handler;
}

/** `/hello/:who` -> a regex with one named group per parameter. */
function compile(template: string): RegExp {
  const source = template
    .split("/")
    .map((part) => (part.startsWith(":") ? `(?<${part.slice(1)}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}$`);
}

export function createApp(settings: Settings = settingsFromEnv(), metrics: Metrics = new Metrics()): Server {
  const routes: Route[] = [];
  const route = (method: string, template: string, handler: Handler): void => {
    routes.push({ method, template, pattern: compile(template), handler });
  };

  // Liveness: the process is up. Deliberately checks no dependency.
  route("GET", "/healthz", () => ({ status: 200, body: { status: "ok" } }));
  // Readiness: reports which resources are configured.
  route("GET", "/readyz", () => ({ status: 200, body: { status: "ready", resources: configuredResources(settings) } }));
  route("GET", "/", () => ({
    status: 200,
    body: {
      service: SERVICE_NAME,
      description: SERVICE_DESCRIPTION,
      owner: OWNER,
      environment: settings.environment,
      version: VERSION,
    },
  }));
  // A tiny example endpoint: replace it with your own.
  route("GET", "/hello/:who", (params, url) => ({
    status: 200,
    body: { message: `Hello, ${params.who}` + (url.searchParams.get("excited") === "true" ? "!" : ".") },
  }));
  route("GET", "/metrics", () => ({
    status: 200,
    body: metrics.render(),
    contentType: "text/plain; version=0.0.4; charset=utf-8",
  }));

  function dispatch(request: IncomingMessage): { reply: Reply; template: string } {
    const url = new URL(request.url ?? "/", "http://localhost");
    const method = request.method ?? "GET";
    let pathMatched: Route | undefined;
    for (const candidate of routes) {
      const match = candidate.pattern.exec(url.pathname);
      if (match === null) continue;
      pathMatched = candidate;
      if (candidate.method === method || (method === "HEAD" && candidate.method === "GET")) {
        let params: Record<string, string>;
        try {
          params = Object.fromEntries(Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
        } catch {
          return { reply: { status: 400, body: { error: "malformed path" } }, template: candidate.template };
        }
        return { reply: candidate.handler(params, url), template: candidate.template };
      }
    }
    if (pathMatched !== undefined) {
      return { reply: { status: 405, body: { error: "method not allowed" } }, template: pathMatched.template };
    }
    return { reply: { status: 404, body: { error: "not found" } }, template: "<unmatched>" };
  }

  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const started = process.hrtime.bigint();
    let template = "<unmatched>";
    let reply: Reply;
    try {
      ({ reply, template } = dispatch(request));
    } catch (error) {
      console.error(error);
      reply = { status: 500, body: { error: "internal server error" } };
    }
    const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    response.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observe(request.method ?? "GET", template, response.statusCode, seconds);
    });
    response.writeHead(reply.status, {
      "content-type": reply.contentType ?? "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
    });
    response.end(request.method === "HEAD" ? undefined : text);
  });
}

// ---------------------------------------------------------------------------------------------------
// Entry point: `node dist/src/server.js`

function isMain(): boolean {
  return process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
}

if (isMain()) {
  const settings = settingsFromEnv();
  const server = createApp(settings);
  server.listen(settings.port, () => {
    console.log(`${SERVICE_NAME} listening on port ${settings.port} (${settings.environment})`);
  });
  // Kubernetes sends SIGTERM before killing the pod: stop accepting, finish in-flight requests.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      server.close(() => process.exit(0));
      server.closeIdleConnections();
    });
  }
}
