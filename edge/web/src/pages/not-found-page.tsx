import { Link, Page } from "../components.js";

export function NotFoundPage(props: { what?: string }) {
  const what = props.what ?? "page";
  return (
    <Page title={`No such ${what}`}>
      <p>
        There is no such {what} here. <Link href="/">Browse the products</Link>.
      </p>
    </Page>
  );
}
