import { type Kysely, sql } from "kysely";

/** Payments, the saga's view of checkouts, tokenized cards and the fake provider's ledger. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("payments")
    .addColumn("id", "uuid", (c) => c.primaryKey())
    .addColumn("order_id", "text", (c) => c.notNull().unique())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("amount_cents", "integer", (c) => c.notNull())
    .addColumn("currency", "text", (c) => c.notNull())
    .addColumn("payment_method", "text", (c) => c.notNull())
    .addColumn("card_last4", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull().check(sql`status in ('PENDING', 'SUCCEEDED', 'FAILED', 'REFUNDED')`))
    .addColumn("failure_reason", "text")
    .addColumn("refund_reason", "text")
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("provider_charge_id", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull())
    .addColumn("updated_at", "timestamptz", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("payments_created_idx").on("payments").columns(["created_at", "id"]).execute();
  await db.schema.createIndex("payments_user_idx").on("payments").column("user_id").execute();
  await sql`create index payments_pending_idx on payments (order_id) where status = 'PENDING'`.execute(db);

  await db.schema
    .createTable("checkouts")
    .addColumn("order_id", "text", (c) => c.primaryKey())
    .addColumn("placed", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("user_id", "text")
    .addColumn("amount_cents", "integer")
    .addColumn("currency", "text")
    .addColumn("payment_method", "text")
    .addColumn("stock", "text", (c) => c.check(sql`stock in ('reserved', 'rejected')`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("payment_methods")
    .addColumn("token", "text", (c) => c.primaryKey())
    .addColumn("brand", "text", (c) => c.notNull())
    .addColumn("last4", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("provider_ledger")
    .addColumn("idempotency_key", "text", (c) => c.primaryKey())
    .addColumn("calls", "integer", (c) => c.notNull())
    .addColumn("outcome", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["provider_ledger", "payment_methods", "checkouts", "payments"]) {
    await db.schema.dropTable(table).execute();
  }
}
