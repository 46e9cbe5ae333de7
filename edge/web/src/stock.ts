import { useEffect, useState } from "preact/hooks";
import { catalog } from "./api.js";
import { keepLive, type LinkState } from "./live.js";

export interface LiveStock {
  /** Units available by product id, as last streamed; absent until the stream has said. */
  readonly levels: ReadonlyMap<string, number>;
  /** Undefined while there is nothing to watch. */
  readonly link: LinkState | undefined;
}

/** Live stock of `ids` over CatalogService.StreamStock, reopened whenever it drops. */
export function useLiveStock(ids: readonly string[]): LiveStock {
  const [levels, setLevels] = useState<ReadonlyMap<string, number>>(new Map());
  const [link, setLink] = useState<LinkState>();
  const key = ids.join(",");
  useEffect(() => {
    if (key === "") return undefined;
    const productIds = key.split(",");
    const stop = keepLive({
      open: (signal) => catalog.streamStock({ productIds }, { signal }),
      onMessage: ({ level }) => {
        if (level) setLevels((prev) => new Map(prev).set(level.productId, level.available));
      },
      onState: setLink,
    });
    return () => {
      stop();
      setLink(undefined);
    };
  }, [key]);
  return { levels, link };
}
