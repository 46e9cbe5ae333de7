export { type FeedListener, KeyedFeed, type KeyedFeedOptions } from "./keyed-feed.js";
export { KeyedWatch, type KeyedWatchOptions, type WatchSource } from "./keyed-watch.js";
export { type ShareFeedOptions, shareFeed } from "./share-feed.js";
