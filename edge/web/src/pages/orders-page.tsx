import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Order } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { useCallback, useEffect, useState } from "preact/hooks";
import { orders } from "../api.js";
import { Link, Loading, Page, Problem } from "../components.js";
import { money } from "../format.js";
import { statusName } from "./order-status.js";

const date = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function OrdersPage() {
  const [list, setList] = useState<readonly Order[]>();
  const [failed, setFailed] = useState(false);
  const load = useCallback(async () => {
    setFailed(false);
    try {
      setList((await orders.listOrders({ pageSize: 50 })).items);
    } catch {
      setFailed(true);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Page title="Your orders">
      {failed ? (
        <Problem retry={() => void load()}>Your orders could not be loaded.</Problem>
      ) : !list ? (
        <Loading what="your orders" />
      ) : list.length === 0 ? (
        <p>
          No orders yet. <Link href="/">Browse the products</Link>.
        </p>
      ) : (
        <ul class="orders">
          {list.map((o) => (
            <li key={o.id}>
              <Link href={`/orders/${encodeURIComponent(o.id)}`}>Order {o.id.slice(0, 8)}</Link>
              <span>{o.createdAt ? date.format(timestampDate(o.createdAt)) : ""}</span>
              <span>{statusName(o.status)}</span>
              <span class="num">{money(o.totalCents, o.currency)}</span>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
