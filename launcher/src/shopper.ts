/**
 * A shopper driving the edge's REST routes with plain `fetch`, as a script or a mobile client
 * would: sign up, fill the cart, check out, follow the order. Used by the end-to-end tests and
 * the checkout benchmark.
 */

export interface RestReply<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface OrderJson {
  readonly id: string;
  readonly user_id: string;
  readonly status: string;
  readonly cancel_reason: string;
  /** Why the order waits for an operator; "" unless its status is on_hold. */
  readonly hold_reason: string;
  readonly total_cents: number;
  readonly payment_id: string;
  readonly items: ReadonlyArray<{ product_id: string; quantity: number; unit_price_cents: number; line_total_cents: number }>;
  readonly history: ReadonlyArray<{ from_status: string; to_status: string; reason: string }>;
}

const FINAL = new Set(["paid", "cancelled"]);

/** Sends one JSON request to the edge; the body is parsed when there is one. */
export async function rest<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RestReply<T>> {
  const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

export class RestError extends Error {
  constructor(
    readonly what: string,
    readonly reply: RestReply,
  ) {
    super(`${what} → ${reply.status} ${JSON.stringify(reply.body)}`);
  }
}

function ok<T>(what: string, reply: RestReply<T>, status = 200): T {
  if (reply.status !== status) throw new RestError(what, reply);
  return reply.body;
}

/**
 * A product's stock as the catalog holds it now, read with `token`: a signed-in read always
 * reaches the catalog, where the edge keeps anonymous answers for up to twice
 * EDGE_READ_CACHE_MAX_AGE_MS (so a change the edge did not make, the saga's, may not show yet).
 */
export async function productStock(baseUrl: string, productId: string, token: string): Promise<number> {
  const path = `/api/products/${productId}`;
  return ok(`GET ${path}`, await rest<{ stock: number }>(baseUrl, "GET", path, { token })).stock;
}

export class Shopper {
  private constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly userId: string,
    readonly email: string,
  ) {}

  /** Signs a new user up (POST /api/auth/signup → 201). */
  static async signup(baseUrl: string, email: string, password = "correct horse battery staple", name = "Shopper"): Promise<Shopper> {
    const body = ok(
      "signup",
      await rest<{ access_token: string; user: { id: string } }>(baseUrl, "POST", "/api/auth/signup", { body: { email, password, name } }),
      201,
    );
    return new Shopper(baseUrl, body.access_token, body.user.id, email);
  }

  call<T = any>(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<RestReply<T>> {
    return rest<T>(this.baseUrl, method, path, { ...opts, token: this.token });
  }

  async addItem(productId: string, qty: number): Promise<void> {
    ok("add to cart", await this.call("POST", "/api/cart/items", { body: { product_id: productId, qty } }));
  }

  async cart(): Promise<{ items: Array<{ product_id: string; quantity: number }>; total_cents: number }> {
    return ok("get cart", await this.call("GET", "/api/cart"));
  }

  /** POST /api/checkout → 201 {order_id, status}. */
  async checkout(opts: { cardNumber?: string; idempotencyKey?: string } = {}): Promise<{ order_id: string; status: string }> {
    const reply = await this.call("POST", "/api/checkout", {
      ...(opts.cardNumber ? { body: { payment: { card_number: opts.cardNumber } } } : {}),
      ...(opts.idempotencyKey ? { headers: { "idempotency-key": opts.idempotencyKey } } : {}),
    });
    return ok("checkout", reply, 201);
  }

  async order(id: string): Promise<OrderJson> {
    return ok("get order", await this.call<OrderJson>("GET", `/api/orders/${encodeURIComponent(id)}`));
  }

  /** Polls GET /api/orders/{id} until the order is paid or cancelled. */
  async waitFinal(id: string, { timeoutMs = 10_000, intervalMs = 5 } = {}): Promise<OrderJson> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const order = await this.order(id);
      if (FINAL.has(order.status)) return order;
      if (Date.now() > end) throw new Error(`order ${id} still ${order.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  async notifications(): Promise<Array<{ kind: string; user_id: string; subject: string; order_id?: string }>> {
    return ok("list notifications", await this.call("GET", "/api/notifications")).items;
  }
}
