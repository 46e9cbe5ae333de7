import type { Product } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { useCallback, useEffect, useState } from "preact/hooks";
import { AddToCartButton } from "../add-to-cart.js";
import { catalog } from "../api.js";
import { LiveIndicator, Link, Loading, Page, Problem, StockBadge } from "../components.js";
import { money } from "../format.js";
import { useLiveStock } from "../stock.js";

interface Listing {
  readonly products: readonly Product[];
  readonly next: string;
}

export function ProductsPage() {
  const [listing, setListing] = useState<Listing>();
  const [failed, setFailed] = useState(false);
  const [more, setMore] = useState(false);

  const load = useCallback(async (after?: Listing) => {
    setFailed(false);
    try {
      const page = await catalog.listProducts({ pageSize: 100, pageToken: after?.next ?? "" });
      setListing({ products: [...(after?.products ?? []), ...page.items], next: page.nextPageToken });
    } catch {
      setFailed(true);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const { levels, link } = useLiveStock(listing?.products.map((p) => p.id) ?? []);

  return (
    <Page title="Coffee and tea gear">
      <LiveIndicator link={link} what="Stock levels" />
      {failed && !listing ? (
        <Problem retry={() => void load()}>The products could not be loaded.</Problem>
      ) : !listing ? (
        <Loading what="products" />
      ) : (
        <>
          <ul class="grid" aria-label="Products">
            {listing.products.map((p) => (
              <li key={p.id}>
                <ProductCard product={p} available={levels.get(p.id) ?? p.stock} />
              </li>
            ))}
          </ul>
          {listing.next ? (
            <button
              type="button"
              class="button-secondary more"
              disabled={more}
              onClick={async () => {
                setMore(true);
                await load(listing);
                setMore(false);
              }}
            >
              {more ? "Loading…" : "More products"}
            </button>
          ) : null}
          {failed ? <Problem>More products could not be loaded.</Problem> : null}
        </>
      )}
    </Page>
  );
}

function ProductCard(props: { product: Product; available: number }) {
  const p = props.product;
  const href = `/products/${encodeURIComponent(p.id)}`;
  const stockId = `stock-${p.id}`;
  return (
    <article class="card" aria-labelledby={`name-${p.id}`}>
      <Link href={href} class="card-image" tabIndex={-1} aria-hidden="true">
        <img src={p.imageUrl} alt="" width={320} height={240} loading="lazy" />
      </Link>
      <h2 id={`name-${p.id}`}>
        <Link href={href}>{p.name}</Link>
      </h2>
      <p class="price">{money(p.priceCents, p.currency)}</p>
      <StockBadge available={props.available} id={stockId} />
      <AddToCartButton product={p} available={props.available} describedBy={stockId} />
    </article>
  );
}
