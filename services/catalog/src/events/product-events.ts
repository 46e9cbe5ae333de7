import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Envelope, createEnvelope } from "@shopmesh/platform";
import { ProductPriceChangedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import type { PriceChange } from "../domain/product.js";

/** ProductPriceChanged, keyed by product id (the changes of one product in order). */
export function productPriceChanged(change: PriceChange, at: Date): Envelope {
  const message = create(ProductPriceChangedSchema, {
    productId: change.productId,
    oldPriceCents: change.oldPriceCents,
    oldCurrency: change.oldCurrency,
    newPriceCents: change.newPriceCents,
    currency: change.currency,
    version: BigInt(change.version),
    changedAt: timestampFromDate(at),
  });
  return createEnvelope(ProductPriceChangedSchema, message, { source: "catalog", key: change.productId, time: at });
}
