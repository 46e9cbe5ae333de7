import { type Kysely, sql } from "kysely";

/** Orders may be ON_HOLD: a payment succeeded that is not their total, held for an operator. */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table orders drop constraint orders_status_check`.execute(db);
  await sql`alter table orders add constraint orders_status_check
    check (status in ('PENDING', 'STOCK_RESERVED', 'PAID', 'CANCELLED', 'ON_HOLD'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table orders drop constraint orders_status_check`.execute(db);
  await sql`alter table orders add constraint orders_status_check
    check (status in ('PENDING', 'STOCK_RESERVED', 'PAID', 'CANCELLED'))`.execute(db);
}
