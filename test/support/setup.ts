import nock from "nock";

// Tests talk only to servers they start on loopback; anything else is refused.
nock.disableNetConnect();
nock.enableNetConnect((host) => /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host));
