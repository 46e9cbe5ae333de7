import { createTransport } from "nodemailer";

export interface Email {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** Hands emails to a transport. */
export interface Mailer {
  /** "sent" once the SMTP server accepted it; "captured" when there is no transport (only recorded). Rejects on failure. */
  send(email: Email): Promise<"sent" | "captured">;
  close(): void;
}

/** Nodemailer over SMTP at `url` (smtp:// or smtps://, credentials in the URL). */
export function createSmtpMailer(url: string, from: string): Mailer {
  const transport = createTransport(url);
  return {
    async send(email) {
      await transport.sendMail({ from, to: email.to, subject: email.subject, text: email.text });
      return "sent";
    },
    close() {
      transport.close();
    },
  };
}

/** No transport (embedded default): the stored notification is the only trace. */
export function createCapturingMailer(): Mailer {
  return {
    async send() {
      return "captured";
    },
    close() {},
  };
}
