import type { Cart } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { carts } from "./api.js";
import { session } from "./session.js";
import { createStore } from "./store.js";

export interface CartState {
  /** The server's cart; undefined until loaded (or when signed out). */
  readonly cart: Cart | undefined;
  readonly loading: boolean;
  readonly error: boolean;
}

/** The signed-in shopper's cart. It lives in the cart service, so a lapsed session loses nothing. */
export const cartStore = createStore<CartState>({ cart: undefined, loading: false, error: false });

export async function loadCart(): Promise<void> {
  cartStore.set({ ...cartStore.get(), loading: true, error: false });
  try {
    const { cart } = await carts.getCart({});
    cartStore.set({ cart, loading: false, error: false });
  } catch (err) {
    cartStore.set({ ...cartStore.get(), loading: false, error: true });
    throw err;
  }
}

export async function addToCart(productId: string, qty: number): Promise<void> {
  const { cart } = await carts.addItem({ productId, qty });
  cartStore.set({ cart, loading: false, error: false });
}

export async function setQuantity(productId: string, qty: number): Promise<void> {
  const { cart } = await carts.updateItem({ productId, qty });
  cartStore.set({ cart, loading: false, error: false });
}

export async function removeFromCart(productId: string): Promise<void> {
  const { cart } = await carts.removeItem({ productId });
  cartStore.set({ cart, loading: false, error: false });
}

/** After checkout: the order took every line (the cart service empties the cart on OrderPlaced). */
export function cartCheckedOut(): void {
  const { cart } = cartStore.get();
  if (cart) cartStore.set({ cart: { ...cart, items: [], totalCents: 0 }, loading: false, error: false });
}

export function itemCount(cart: Cart | undefined): number {
  return cart ? cart.items.reduce((n, i) => n + i.quantity, 0) : 0;
}

// Signed in: fetch the cart; signed out: forget the local copy (the server keeps it).
let lastUser: string | undefined;
session.subscribe(() => {
  const s = session.get();
  const user = s.status === "signed-in" ? s.user.id : undefined;
  if (user === lastUser) return;
  lastUser = user;
  if (user) loadCart().catch(() => undefined);
  else cartStore.set({ cart: undefined, loading: false, error: false });
});
