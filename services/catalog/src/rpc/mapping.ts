import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ProductSchema,
  ProductSort,
  ReservationStatus,
  type StockLevelSchema,
  type StockShortageSchema,
} from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { Product, StockLevel } from "../domain/product.js";
import { assertNever, type ReservationStatus as DomainStatus, type StockShortage } from "../domain/reservation.js";

/** Domain values → protobuf messages. */

export function toProtoProduct(p: Product): MessageInitShape<typeof ProductSchema> {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    priceCents: p.priceCents,
    currency: p.currency,
    imageUrl: p.imageUrl,
    imageUrls: [...p.imageUrls],
    categories: [...p.categories],
    stock: p.available,
    updatedAt: timestampFromDate(p.updatedAt),
    version: BigInt(p.version),
    archived: p.archived,
  };
}

export function toProtoLevel(l: StockLevel): MessageInitShape<typeof StockLevelSchema> {
  return { productId: l.productId, available: l.available, updatedAt: timestampFromDate(l.updatedAt) };
}

export function toProtoShortage(s: StockShortage): MessageInitShape<typeof StockShortageSchema> {
  return { productId: s.productId, requested: s.requested, available: s.available };
}

export function toProtoStatus(status: DomainStatus | undefined): ReservationStatus {
  switch (status) {
    case undefined:
      return ReservationStatus.UNSPECIFIED;
    case "reserved":
      return ReservationStatus.RESERVED;
    case "rejected":
      return ReservationStatus.REJECTED;
    case "released":
      return ReservationStatus.RELEASED;
    default:
      return assertNever(status);
  }
}

/** Protobuf → domain: the word of a ProductSort value ("unspecified" for 0), or its number when unknown. */
export function sortWord(sort: ProductSort): string {
  switch (sort) {
    case ProductSort.UNSPECIFIED:
      return "unspecified";
    case ProductSort.RELEVANCE:
      return "relevance";
    case ProductSort.PRICE_ASC:
      return "price_asc";
    case ProductSort.PRICE_DESC:
      return "price_desc";
    case ProductSort.NAME:
      return "name";
    default:
      return String(sort);
  }
}
