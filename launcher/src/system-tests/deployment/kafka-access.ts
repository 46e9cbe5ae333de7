/**
 * What each service may do on Kafka, derived from the code: the topic it publishes its own
 * events to (its contract's events.proto, `shop.<service>.v1`), the topics of the event types
 * its consumer subscribes to, and the dead-letter topics of those (a consumer dead-letters to
 * `<topic>.dlq`). The brokers' ACLs (deploy/kafka/create-acls.sh, used by docker-compose.yml and
 * the Helm chart) grant exactly this; the deployment tests check them against it.
 */
import { CART_EVENT_TYPES, CART_GROUP } from "@shopmesh/cart";
import { CATALOG_EVENT_TYPES, CATALOG_GROUP } from "@shopmesh/catalog";
import { NOTIFICATION_EVENT_TYPES, NOTIFICATION_GROUP } from "@shopmesh/notification";
import { ORDER_EVENT_TYPES, ORDER_GROUP } from "@shopmesh/order";
import { PAYMENT_EVENT_TYPES, PAYMENT_GROUP } from "@shopmesh/payment";
import { DEAD_LETTER_SUFFIX, eventTopic } from "@shopmesh/platform";
import { file_shop_auth_v1_events } from "@shopmesh/proto/shop/auth/v1/events_pb.js";
import { file_shop_catalog_v1_events } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { file_shop_order_v1_events } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import { file_shop_payment_v1_events } from "@shopmesh/proto/shop/payment/v1/events_pb.js";
import { type ServiceName, serviceNames } from "../../service-databases.js";

/** One service's rights on the brokers; its Kafka principal is `User:<service>`. */
export interface KafkaAccess {
  /** Topics it may write: its own events' topic, and the dead-letter topics of what it reads. */
  readonly produce: readonly string[];
  /** Topics it may read. */
  readonly consume: readonly string[];
  /** Its consumer group; undefined when it consumes nothing. */
  readonly group: string | undefined;
}

/** The event types each service publishes: the messages of its own domain's events.proto. */
const published: Readonly<Record<ServiceName, readonly string[]>> = {
  auth: file_shop_auth_v1_events.messages.map((m) => m.typeName),
  catalog: file_shop_catalog_v1_events.messages.map((m) => m.typeName),
  cart: [],
  order: file_shop_order_v1_events.messages.map((m) => m.typeName),
  payment: file_shop_payment_v1_events.messages.map((m) => m.typeName),
  notification: [],
};

/** What each service's consumer subscribes to, and as which group. */
const subscribed: Readonly<Record<ServiceName, { readonly group: string; readonly types: readonly string[] } | undefined>> = {
  auth: undefined,
  catalog: { group: CATALOG_GROUP, types: CATALOG_EVENT_TYPES },
  cart: { group: CART_GROUP, types: CART_EVENT_TYPES },
  order: { group: ORDER_GROUP, types: ORDER_EVENT_TYPES },
  payment: { group: PAYMENT_GROUP, types: PAYMENT_EVENT_TYPES },
  notification: { group: NOTIFICATION_GROUP, types: NOTIFICATION_EVENT_TYPES },
};

const topicsOf = (types: readonly string[]) => [...new Set(types.map(eventTopic))].sort();

/** Every service's Kafka rights, by service. */
export function kafkaAccess(): Readonly<Record<ServiceName, KafkaAccess>> {
  return Object.fromEntries(
    serviceNames.map((service) => {
      const own = topicsOf(published[service]);
      if (own.some((t) => t !== `shop.${service}.v1`))
        throw new Error(`${service} publishes outside shop.${service}.v1: ${own.join(", ")}`);
      const consume = topicsOf(subscribed[service]?.types ?? []);
      const produce = [...own, ...consume.map((t) => `${t}${DEAD_LETTER_SUFFIX}`)].sort();
      return [service, { produce, consume, group: subscribed[service]?.group }];
    }),
  ) as unknown as Record<ServiceName, KafkaAccess>;
}
