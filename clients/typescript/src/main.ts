// A short e-portal integration written only against the types generated from
// openapi/openapi.json (openapi-typescript) and run with openapi-fetch against a live server:
// tokens (password and client credentials), the catalogue, a receipt, actions, the control slip,
// the change feed and a webhook subscription. `tsc` refuses the program if it no longer matches
// the contract; the checks below fail the run if the server no longer answers as it promises.

import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Dossier = components["schemas"]["DossierDto"];

const baseUrl = process.env.MOTCUA_URL ?? "http://127.0.0.1:8080";
const adminPassword = process.env.MOTCUA_ADMIN_PASSWORD;
if (!adminPassword) {
  throw new Error("set MOTCUA_ADMIN_PASSWORD to the password the server was started with");
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new Error(`contract check failed: ${message}`);
  }
}

/** A client sending `token` as a bearer token. */
function clientWith(token?: string) {
  const client = createClient<paths>({ baseUrl });
  if (token) {
    const auth: Middleware = {
      onRequest({ request }) {
        request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

/** Unwraps an answer, showing the problem document if there is one. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.error !== undefined || result.data === undefined) {
    throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

const anonymous = clientWith();

// 1. An administrator logs in with the password grant.
const adminToken = ok(
  await anonymous.POST("/api/v1/auth/token", { body: { username: "admin", password: adminPassword } }),
  "admin login",
);
check(adminToken.token_type === "Bearer" && adminToken.expires_in > 0, "a bearer token with a lifetime");
const admin = clientWith(adminToken.access_token);

// 2. The catalogue the dossier needs: an agency's units and a procedure.
for (const unit of [
  { code: "SCT", name: "Sở Công Thương", agency_code: "SCT" },
  { code: "MC", name: "Bộ phận Một cửa", parent_code: "SCT", agency_code: "SCT" },
  { code: "QLTM", name: "Phòng Quản lý Thương mại", parent_code: "SCT", agency_code: "SCT" },
]) {
  ok(await admin.POST("/api/v1/units", { body: unit }), `unit ${unit.code}`);
}
const procedure = ok(
  await admin.POST("/api/v1/procedures", {
    body: {
      code: "1.000001.000.00.00.H56",
      name: "Cấp Giấy phép kinh doanh bán lẻ rượu",
      field: "Lưu thông hàng hóa trong nước",
      unit_code: "QLTM",
      time_limit: { amount: 5, unit: "working_days" },
      steps: [
        { name: "Tiếp nhận hồ sơ", unit_code: "MC", hours: 4 },
        { name: "Thẩm định", unit_code: "QLTM", hours: 28 },
        { name: "Trả kết quả", unit_code: "MC", hours: 4 },
      ],
      supplement_policy: "pause",
      active: true,
    },
  }),
  "procedure",
);
check(procedure.version === 1, "a new procedure is at version 1");

// 3. The administrator registers the e-portal as a machine client; it gets its own token.
const registered = ok(
  await admin.POST("/api/v1/clients", { body: { name: "Cổng dịch vụ công tỉnh" } }),
  "client registration",
);
check(registered.client_secret, "the client secret is shown once, at registration");
const portalToken = ok(
  await anonymous.POST("/api/v1/auth/token", {
    body: {
      grant_type: "client_credentials",
      client_id: registered.client_id,
      client_secret: registered.client_secret,
    },
  }),
  "client credentials",
);
const portal = clientWith(portalToken.access_token);

// 4. The portal subscribes to events of its dossiers.
const hook = ok(
  await portal.POST("/api/v1/webhooks", {
    body: {
      url: "https://dichvucong.example.gov.vn/hooks/motcua",
      events: ["dossier.received", "dossier.resolved", "dossier.returned"],
    },
  }),
  "webhook subscription",
);
check(hook.secret?.startsWith("whsec_"), "the signing secret is shown once");
check(hook.client_id === registered.client_id, "the subscription belongs to the portal");

// 5. The portal submits a dossier (idempotently).
const feedStart = new Date(Date.now() - 60_000).toISOString();
const received = ok(
  await portal.POST("/api/v1/dossiers", {
    params: { header: { "Idempotency-Key": `contract-check-${Date.now()}` } },
    body: {
      procedure_code: procedure.code,
      applicant: { name: "Công ty TNHH An Phát", id_number: "0101234567", email: "lienhe@anphat.vn" },
      channel: "online",
      external_ref: `DVC-${Date.now()}`,
    },
  }),
  "receipt",
);
check(received.status === "received" && received.version === 1, "a received dossier at version 1");
check(received.lookup_secret.length > 0, "the applicant's lookup secret");
const code = received.code;

// 6. The one-stop counter acts on it, each action based on the version it read.
async function act(dossier: Dossier, body: components["schemas"]["ActionRequest"]): Promise<Dossier> {
  return ok(
    await admin.POST("/api/v1/dossiers/{code}/actions", {
      params: { path: { code: dossier.code }, header: { "If-Match": `"${dossier.version}"` } },
      body,
    }),
    `action ${body.action}`,
  );
}
// The specialist the counter hands the dossier to has an account in the trade unit.
ok(
  await admin.POST("/api/v1/users", {
    body: { username: "chuyenvien.an", password: "Mật khẩu đủ dài 2025", role: "specialist", unit_code: "QLTM" },
  }),
  "the specialist's account",
);
let dossier: Dossier = received;
dossier = await act(dossier, { action: "start" });
check(dossier.status === "processing", "started");
dossier = await act(dossier, { action: "forward", to_user: "chuyenvien.an" });
check(dossier.current_step?.unit_code === "QLTM", "forwarded to the next step's unit");
dossier = await act(dossier, { action: "resolve", result: "approved" });
check(dossier.status === "resolved" && dossier.outcome === "early", "resolved early");
dossier = await act(dossier, { action: "return" });
check(dossier.status === "returned" && dossier.version === 5, "returned at version 5");

// A stale version is refused with a problem document.
const stale = await admin.POST("/api/v1/dossiers/{code}/actions", {
  params: { path: { code }, header: { "If-Match": '"1"' } },
  body: { action: "withdraw", reason: "stale" },
});
check(stale.response.status === 412 || stale.response.status === 409, "a stale If-Match is refused");

// 7. Reads. The statistics endpoint (/api/v1/stats/summary) is not part of this contract yet, so
// the client reads the control slip, the portal's change feed and the applicant's lookup instead.
const slip = ok(
  await admin.GET("/api/v1/dossiers/{code}/history", { params: { path: { code } } }),
  "control slip",
);
check(
  slip.items.map((entry) => entry.action).join(",") === "receive,start,forward,resolve,return",
  `the control slip lists every action (${slip.items.map((e) => e.action).join(",")})`,
);

async function readFeed(): Promise<components["schemas"]["DossierPage"]> {
  // A change shows in the feed once every older transaction has ended: poll briefly.
  for (let attempt = 0; ; attempt++) {
    const page = ok(
      await portal.GET("/api/v1/dossiers", { params: { query: { updated_since: feedStart } } }),
      "change feed",
    );
    if (page.items.length > 0 || attempt >= 50) return page;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const feed = await readFeed();
check(feed.items.length === 1, "the portal's feed shows its one dossier");
check(feed.items[0].code === code && feed.items[0].version === 5, "at its latest version");
check(feed.sync_cursor, "the feed answers a cursor to poll with");
const later = ok(
  await portal.GET("/api/v1/dossiers", {
    params: { query: { updated_since: feedStart, cursor: feed.sync_cursor } },
  }),
  "change feed, next poll",
);
check(later.items.length === 0, "nothing new since the last poll");

const lookup = ok(
  await anonymous.GET("/api/v1/public/dossiers/{code}", {
    params: { path: { code }, query: { secret: received.lookup_secret } },
  }),
  "applicant's lookup",
);
check(lookup.status === "returned" && lookup.procedure_name === procedure.name, "the applicant sees the result");

const deliveries = ok(
  await portal.GET("/api/v1/webhooks/{id}/deliveries", { params: { path: { id: hook.id } } }),
  "delivery log",
);
check(Array.isArray(deliveries.items), "the delivery log is readable by its owner");

console.log(
  `contract check passed: dossier ${code} received by ${registered.client_id}, ` +
    `${slip.items.length} control-slip entries, feed and lookup read, webhook ${hook.id} subscribed`,
);
