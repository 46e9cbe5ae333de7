/** Domain of notifications: what is sent for which fact. No I/O here. */

export type NotificationKind = "welcome" | "order_paid" | "order_cancelled" | "order_refunded";
export type DeliveryStatus = "pending" | "sent" | "captured" | "failed";

export interface Notification {
  readonly id: string;
  readonly userId: string;
  readonly channel: "email";
  readonly recipient: string;
  readonly subject: string;
  readonly body: string;
  readonly kind: NotificationKind;
  readonly sourceEventId: string;
  readonly orderId: string | undefined;
  readonly status: DeliveryStatus;
  readonly failureReason: string | undefined;
  readonly createdAt: Date;
  readonly deliveredAt: Date | undefined;
}

/** The facts a notification can be about, as the consumers hand them over. */
export type Fact =
  | { readonly kind: "welcome"; readonly userId: string; readonly email: string; readonly name: string }
  | {
      readonly kind: "order_paid";
      readonly userId: string;
      readonly orderId: string;
      readonly totalCents: number;
      readonly currency: string;
    }
  | {
      readonly kind: "order_cancelled";
      readonly userId: string;
      readonly orderId: string;
      readonly totalCents: number;
      readonly currency: string;
      readonly reason: string;
    }
  | {
      readonly kind: "order_refunded";
      readonly userId: string;
      readonly orderId: string;
      /** This refund. */
      readonly amountCents: number;
      readonly currency: string;
      /** Whether the whole order is refunded now. */
      readonly whole: boolean;
      /** "2 × Mug" for each refunded line. */
      readonly lines: readonly string[];
    };

export interface Message {
  readonly subject: string;
  readonly body: string;
}

/** Why a notification could not be addressed: the user's UserRegistered has not been seen. */
export const RECIPIENT_UNKNOWN = "recipient unknown";

export function formatAmount(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency || "EUR"}`;
}

const cancelReasons: Record<string, string> = {
  out_of_stock: "some items were out of stock",
  unknown_product: "an item is no longer sold",
  payment_declined: "the payment was declined",
  payment_failed: "the payment could not be completed",
  operator: "our team cancelled it",
};

/** Subject and plain-text body for a fact; `name` greets the user when known. */
export function compose(fact: Fact, name: string | undefined): Message {
  const greeting = name ? `Hello ${name},` : "Hello,";
  switch (fact.kind) {
    case "welcome":
      return {
        subject: "Welcome to shopmesh",
        body: `${greeting}\n\nyour shopmesh account is ready. Happy shopping!\n\n— shopmesh`,
      };
    case "order_paid":
      return {
        subject: `Order ${fact.orderId} is paid`,
        body: `${greeting}\n\nwe received your payment of ${formatAmount(fact.totalCents, fact.currency)} for order ${fact.orderId}. It is on its way.\n\n— shopmesh`,
      };
    case "order_cancelled": {
      const why = cancelReasons[fact.reason] ?? (fact.reason ? fact.reason.replaceAll("_", " ") : "it could not be completed");
      return {
        subject: `Order ${fact.orderId} was cancelled`,
        // An operator may cancel an order whose payment went through (held, or arriving late):
        // that payment is refunded rather than never taken.
        body: `${greeting}\n\nyour order ${fact.orderId} was cancelled: ${why}. ${fact.reason === "operator" ? "Any payment taken for it is refunded to your card." : "You have not been charged for it."}\n\n— shopmesh`,
      };
    }
    case "order_refunded":
      return {
        subject: fact.whole ? `Order ${fact.orderId} was refunded` : `Part of order ${fact.orderId} was refunded`,
        body: `${greeting}\n\nwe refunded ${formatAmount(fact.amountCents, fact.currency)} of order ${fact.orderId} (${fact.lines.join(", ")}) to your card. It may take a few days to show.\n\n— shopmesh`,
      };
    default: {
      const never: never = fact;
      throw new Error(`unknown fact ${JSON.stringify(never)}`);
    }
  }
}

const emailPattern = /[^\s<>@"',;:]+@[^\s<>@"',;:]+/g;

/** Text with every email address replaced, for logs and stored failure reasons. */
export function redactEmails(text: string): string {
  return text.replace(emailPattern, "[email]");
}
