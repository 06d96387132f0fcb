import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { after, before, describe, test } from "node:test";

import {
  configuredResources,
  createApp,
  DURATION_BUCKETS,
  Metrics,
  OWNER,
  SERVICE_DESCRIPTION,
  SERVICE_NAME,
  settingsFromEnv,
} from "../src/server.js";

interface Running {
  base: string;
  close: () => Promise<void>;
}

/** The app on an ephemeral port, with its own metrics so tests do not see each other's requests. */
async function start(metrics: Metrics = new Metrics()): Promise<Running> {
  const server: Server = createApp(settingsFromEnv({}), metrics);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

describe("${{ values.name }} over HTTP", () => {
  let running: Running;
  let base: string;

  before(async () => {
    running = await start();
    base = running.base;
  });

  after(async () => {
    await running.close();
  });

  test("GET /healthz answers ok", async () => {
    const response = await fetch(`${base}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
  });

  test("GET / describes the service", async () => {
    const response = await fetch(`${base}/`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as Record<string, string>;
    assert.equal(body.service, "${{ values.name }}");
    assert.equal(body.description, ${{ values.description | dump }});
    assert.equal(body.owner, "${{ values.owner }}");
    assert.equal(body.environment, "${{ values.environment }}");
  });

  test("GET /hello/:who greets", async () => {
    assert.deepEqual(await (await fetch(`${base}/hello/world`)).json(), { message: "Hello, world." });
    assert.deepEqual(await (await fetch(`${base}/hello/world?excited=true`)).json(), { message: "Hello, world!" });
  });

  test("GET /readyz reports configured resources", async () => {
    const response = await fetch(`${base}/readyz`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { resources: Record<string, boolean> };
    assert.deepEqual(Object.keys(body.resources).sort(), ["bucket", "database", "queue", "redis"]);
  });

  test("unknown paths are 404 and wrong methods 405", async () => {
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/healthz`, { method: "POST" })).status, 405);
  });

  test("GET /metrics exposes the request counter and latency histogram by route", async () => {
    const fresh = await start();
    try {
      await fetch(`${fresh.base}/hello/someone`);
      await fetch(`${fresh.base}/does/not/exist`);
      const response = await fetch(`${fresh.base}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
      const text = await response.text();
      assert.ok(text.includes("# TYPE http_requests_total counter"));
      assert.ok(text.includes("# TYPE http_request_duration_seconds histogram"));
      const labels = `service="${{ values.name }}",method="GET",path="/hello/:who"`;
      assert.ok(text.includes(`http_requests_total{${labels},code="200"} 1\n`), text);
      assert.ok(text.includes(`http_request_duration_seconds_bucket{${labels},le="+Inf"} 1\n`), text);
      assert.ok(text.includes(`http_request_duration_seconds_count{${labels}} 1\n`), text);
      assert.ok(text.includes('path="<unmatched>",code="404"} 1\n'), text);
    } finally {
      await fresh.close();
    }
  });
});

test("settings start without any resource", () => {
  const settings = settingsFromEnv({});
  assert.deepEqual(configuredResources(settings), { database: false, redis: false, bucket: false, queue: false });
  assert.equal(settings.port, ${{ values.http_port }});
  assert.equal(settings.environment, "${{ values.environment }}");
});

test("settings read resource connections from the environment", () => {
  const settings = settingsFromEnv({ DATABASE_HOST: "db.internal", DATABASE_PORT: "6543", BUCKET_NAME: "${{ values.name }}-data", PORT: "8081" });
  assert.equal(settings.databaseHost, "db.internal");
  assert.equal(settings.databasePort, 6543);
  assert.equal(settings.port, 8081);
  assert.equal(configuredResources(settings).bucket, true);
  assert.equal(configuredResources(settings).redis, false);
});

test("histogram buckets are cumulative", () => {
  const metrics = new Metrics();
  metrics.observe("GET", "/", 200, 0.02);
  metrics.observe("GET", "/", 500, 3);
  const text = metrics.render();
  const bucket = (le: string): number => {
    const line = text.split("\n").find((l) => l.startsWith("http_request_duration_seconds_bucket{") && l.includes(`le="${le}"`));
    assert.ok(line, `bucket ${le} missing`);
    return Number(line.split(" ").at(-1));
  };
  assert.equal(bucket("0.01"), 0);
  assert.equal(bucket("0.025"), 1);
  assert.equal(bucket("5"), 2);
  assert.equal(bucket("+Inf"), 2);
  assert.equal(DURATION_BUCKETS.length + 1, text.split("\n").filter((l) => l.startsWith("http_request_duration_seconds_bucket{")).length);
  assert.ok(text.includes('code="500"} 1'));
});

test("the service identity is rendered from the template", () => {
  assert.equal(SERVICE_NAME, "${{ values.name }}");
  assert.equal(OWNER, "${{ values.owner }}");
  assert.equal(SERVICE_DESCRIPTION, ${{ values.description | dump }});
});
