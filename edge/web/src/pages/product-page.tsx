import type { Product } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { useCallback, useEffect, useState } from "preact/hooks";
import { AddToCartButton } from "../add-to-cart.js";
import { Code, catalog, codeOf } from "../api.js";
import { LiveIndicator, Link, Loading, Page, Problem, StockBadge } from "../components.js";
import { Field } from "../form.js";
import { money } from "../format.js";
import { useLiveStock } from "../stock.js";
import { NotFoundPage } from "./not-found-page.js";

export function ProductPage(props: { id: string }) {
  const [product, setProduct] = useState<Product>();
  const [problem, setProblem] = useState<"missing" | "failed">();
  const [qty, setQty] = useState(1);

  const load = useCallback(async () => {
    setProblem(undefined);
    try {
      const res = await catalog.getProduct({ id: props.id });
      setProduct(res.product);
    } catch (err) {
      setProblem(codeOf(err) === Code.NotFound ? "missing" : "failed");
    }
  }, [props.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const { levels, link } = useLiveStock(product ? [product.id] : []);

  if (problem === "missing") return <NotFoundPage what="product" />;
  if (!product) {
    return (
      <Page title="Product">
        {problem ? <Problem retry={() => void load()}>The product could not be loaded.</Problem> : <Loading what="the product" />}
      </Page>
    );
  }
  const available = levels.get(product.id) ?? product.stock;
  const max = Math.max(1, Math.min(available, 99));
  const quantity = Math.min(qty, max);
  return (
    <Page title={product.name}>
      <p class="back">
        <Link href="/">← All products</Link>
      </p>
      <div class="product">
        <img src={product.imageUrl} alt="" width={480} height={360} class="product-image" />
        <div class="product-info">
          <p class="price price-large">{money(product.priceCents, product.currency)}</p>
          {/* Read out when it changes: another shopper's purchase shows here at once. */}
          <p class="stock-line" aria-live="polite" aria-atomic="true">
            <StockBadge available={available} id="product-stock" />
          </p>
          <LiveIndicator link={link} what="Stock" />
          <p class="description">{product.description}</p>
          {available > 0 ? (
            <Field
              id="qty"
              label="Quantity"
              inline
              type="number"
              inputMode="numeric"
              min={1}
              max={max}
              value={quantity}
              onInput={(e) => {
                const n = Number.parseInt(e.currentTarget.value, 10);
                setQty(Number.isFinite(n) && n > 0 ? n : 1);
              }}
            />
          ) : null}
          <AddToCartButton product={product} available={available} qty={quantity} describedBy="product-stock" />
        </div>
      </div>
    </Page>
  );
}
