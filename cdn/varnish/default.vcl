vcl 4.1;

# The CDN edge in front of the object origin (the API's /files route, or an S3/MinIO endpoint
# over plain HTTP: Varnish Cache cannot speak TLS to a backend).
#
# Written for Varnish 7.1 (Debian bookworm) with varnish-modules for xkey (Debian packages
# `varnish varnish-modules`); uses std.ban()/std.ban_error(), which replaced ban() in 7.x.
#
# Deployment-specific parts live in "site.vcl", found on vcl_path, which must define:
#   backend origin { .host = "..."; .port = "..."; }   the origin (the only, hence default, backend)
#   acl purgers { "127.0.0.1"; "::1"; }                who may PURGE and BAN
#   sub site_recv { }                                  sets req.http.host to the public host, and
#                                                      req.http.x-object-key to the object key the
#                                                      URL names (the URL less the origin's prefix)
#   sub site_backend_fetch { }                         per-site bereq changes (e.g. the S3 Host)
# cdn/varnish/site.example.vcl is a template; test/varnish.ts renders one per test run.
#
# The edge fronts only what is public. "public-keys.vcl" (generated from PUBLIC_KEY_PATTERNS in
# cdn/keys.ts by `npx tsx cdn/varnish/public-keys.ts`; a test fails when it is stale) lists the
# keys an anonymous client may read: renditions, manifests and stable copies. Any other URL
# (originals, asset records, bucket listings, the API's /metrics, /docs, /readyz...) and any
# method but GET and HEAD gets a synthetic answer here and never reaches the origin.
#
# Purge API (only from `purgers`; anyone else gets 403):
#   PURGE /  with `xkey: k1 k2 ...`        hard-purge every object tagged with any of the keys
#            and `xkey-soft: 1`            soft purge instead: stale, served in grace while refetched
#            answers 200 with `X-Purged: <objects purged>`
#   BAN <path?query>                       ban the object(s) stored under exactly that URL
#   BAN /  with `xkey: k1 k2 ...`          ban by surrogate key without xkey (the fallback for a
#                                          Varnish without varnish-modules; slower, lurker-evaluated)
# Bans match the URL only, not the Host: one Varnish serves one public host here, and matching
# the Host would silently miss whenever a proxy in front rewrites it.

import std;
import xkey;
# Built into Varnish: the shard director's key() is the hash experiment assignment uses, and
# cookie reads the merchant's visitor cookie by a name known only at run time.
import directors;
import cookie;

include "public-keys.vcl";
include "site.vcl";

sub vcl_init {
    new experiment_hash = directors.shard();
}

sub vcl_recv {
    if (req.method == "PURGE" || req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # Only VCL sets these; never echo what a client sent.
        unset req.http.X-Purged;
        unset req.http.x-ban-error;
        if (req.method == "PURGE") {
            call cdn_purge;
        }
        call cdn_ban;
    }
    if (req.method == "GET" && req.url == "/_varnish/health") {
        return (synth(200, "OK"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        # The builtin would pass these (or pipe unknown ones) to the origin: a PUT, DELETE or
        # POST to a bucket must never be relayed by the CDN.
        return (synth(405, "Method Not Allowed"));
    }
    if (req.restarts == 0) {
        # Kept aside for experiment assignment (cdn_experiment_assign); never sent to the origin's cache key.
        unset req.http.x-exp-variant;
        set req.http.x-exp-visitor = req.http.X-Visitor-Id;
        set req.http.x-exp-cookie = req.http.Cookie;
    }
    unset req.http.X-Visitor-Id;
    unset req.http.x-experiment-route;
    # Objects are public and never vary by cookie or credentials: neither may turn a request into
    # a pass to the origin.
    unset req.http.Cookie;
    unset req.http.Authorization;
    if (req.url ~ "^/img/") {
        call cdn_on_demand_recv;
        return (hash);
    }
    # A query string names no other object, only a way to make new cache entries (`?v=1`, `?v=2`)
    # or to ask S3 for something else (`?acl`, `?tagging`, `?list-type=2`): drop it.
    set req.url = regsub(req.url, "[?#].*$", "");
    unset req.http.x-object-key;
    call site_recv;
    if (!req.http.x-object-key) {
        return (synth(404, "Not Found"));
    }
    # A stable experiment URL (cdn/keys.ts experimentPrefix): looked up as its routing answer, the
    # same for every visitor, then rewritten per visitor in vcl_deliver (cdn_experiment_assign).
    if (req.restarts == 0 && req.http.x-object-key ~ "^t/[A-Za-z0-9][A-Za-z0-9_-]{0,63}/x/exp_[0-9a-f]{32}/[A-Za-z0-9][A-Za-z0-9._-]{0,63}/([a-z][a-z0-9-]{0,31}/)?[1-9][0-9]{0,5}[.](avif|webp|jpg)$") {
        set req.http.x-experiment-route = "1";
        unset req.http.x-object-key;
        return (hash);
    }
    # 404 unless the key is public (public-keys.vcl).
    call cdn_public_key;
    unset req.http.x-object-key;
    return (hash);
}

# On-demand images (`/img/<tenant>/<asset>/<source>?<imgix params>`, answered by the API): the
# query names the transform, so it stays; only well-formed paths (public-keys.vcl) reach the origin.
# `Accept` is reduced to the three answers `auto=format` can give (AVIF, WebP, the fallback), so the
# origin's `Vary: Accept` keeps at most three variants per URL, whatever browsers send. With an S3
# origin, site_recv must send these to an API backend (`set req.backend_hint = api;`).
sub cdn_on_demand_recv {
    set req.url = regsub(req.url, "#.*$", "");
    call cdn_public_on_demand;
    if (req.http.Accept ~ "(?i)image/avif(?![^,]*;\s*q=0(\.0*)?\s*(,|$))") {
        set req.http.Accept = "image/avif,image/webp,*/*";
    } elsif (req.http.Accept ~ "(?i)image/webp(?![^,]*;\s*q=0(\.0*)?\s*(,|$))") {
        set req.http.Accept = "image/webp,*/*";
    } else {
        set req.http.Accept = "*/*";
    }
    call site_recv;
    unset req.http.x-object-key;
}

sub vcl_hash {
    # An unsigned on-demand URL is cached under its sorted query (`?w=300&fm=webp` and
    # `?fm=webp&w=300` are one object). A signed one keeps its order: its signature covers the query
    # as sent, and a reordered copy must reach the origin to be checked (and refused).
    if (req.url ~ "^/img/" && req.url !~ "[?&]s=") {
        hash_data(std.querysort(req.url));
        hash_data(req.http.host);
        return (lookup);
    }
}

sub cdn_purge {
    if (!req.http.xkey) {
        return (synth(400, "PURGE needs an xkey header"));
    }
    if (req.http.xkey-soft == "1") {
        set req.http.X-Purged = xkey.softpurge(req.http.xkey);
    } else {
        set req.http.X-Purged = xkey.purge(req.http.xkey);
    }
    return (synth(200, "Purged"));
}

sub cdn_ban {
    if (req.http.xkey) {
        # Same key alphabet as cdn/invalidation/invalidator.ts; `.` and `+` are the only regex
        # metacharacters in it and become `[.]`, `[+]` (no backslashes through ban parsing).
        if (req.http.xkey !~ "^[A-Za-z0-9_.:/=@+~, -]+$") {
            return (synth(400, "Bad surrogate keys"));
        }
        set req.http.x-ban-keys = regsuball(req.http.xkey, "([.+])", "[\1]");
        set req.http.x-ban-keys = regsuball(regsuball(req.http.x-ban-keys, "^[ ,]+|[ ,]+$", ""), "[ ,]+", "|");
        if (std.ban("obj.http.xkey ~ (^|[[:space:],])(" + req.http.x-ban-keys + ")($|[[:space:],])")) {
            return (synth(200, "Banned"));
        }
    } else {
        if (req.url !~ "^/[!-~]*$") {
            return (synth(400, "Bad URL"));
        }
        if (std.ban("obj.http.x-url == " + req.url)) {
            return (synth(200, "Banned"));
        }
    }
    set req.http.x-ban-error = std.ban_error();
    return (synth(400, "Bad ban"));
}

sub vcl_backend_fetch {
    # The visitor's id and cookies stay at the edge.
    unset bereq.http.x-exp-visitor;
    unset bereq.http.x-exp-cookie;
    unset bereq.http.x-exp-variant;
    call site_backend_fetch;
}

sub vcl_backend_response {
    # Stored on the object for lurker-friendly bans (bans that test only obj.* are evaluated in
    # the background instead of on every lookup).
    set beresp.http.x-url = bereq.url;

    # The origin tags objects with `Surrogate-Key: k1 k2` (Fastly's convention); xkey indexes the
    # `xkey` header. S3 origins return stored metadata as x-amz-meta-surrogate-key.
    if (!beresp.http.xkey) {
        if (beresp.http.Surrogate-Key) {
            set beresp.http.xkey = beresp.http.Surrogate-Key;
        } elsif (beresp.http.x-amz-meta-surrogate-key) {
            set beresp.http.xkey = beresp.http.x-amz-meta-surrogate-key;
        }
    }
    unset beresp.http.Surrogate-Key;
    unset beresp.http.x-amz-meta-surrogate-key;

    # Content-addressed objects never change under their URL: keep them a year even when the
    # origin's max-age is shorter. Uncacheable answers are left to the builtin rules below.
    if (beresp.http.Cache-Control ~ "(?i)(^|[\s,])immutable($|[\s,])" &&
        beresp.http.Cache-Control !~ "(?i)no-store|no-cache|private" &&
        beresp.ttl > 0s && beresp.ttl < 365d) {
        set beresp.ttl = 365d;
    }
    # Browsers may keep an object `max-age` seconds from when they get it; the edge keeps mutable
    # objects until a purge (s-maxage) and immutable ones a year. Passing on the edge's Age would
    # make a browser see a manifest cached an hour ago as 59 minutes stale and revalidate it on
    # every view: when the edge may keep an object longer than a browser, deliver it with Age 0.
    # An immutable object never changes under its URL, so its age means nothing to a browser.
    # (Any other object the edge keeps no longer than browsers keeps its true Age, so the two
    # never add up.)
    unset beresp.http.x-age-reset;
    set beresp.http.x-browser-ttl = "0";
    if (beresp.http.Cache-Control ~ "(?i)(^|[\s,])max-age=[0-9]+") {
        set beresp.http.x-browser-ttl = regsub(beresp.http.Cache-Control, "(?i)^(.*[\s,])?max-age=([0-9]+).*$", "\2");
    }
    if (beresp.ttl > std.duration(beresp.http.x-browser-ttl + "s", 0s) ||
        (beresp.ttl > 0s && beresp.http.Cache-Control ~ "(?i)(^|[\s,])immutable($|[\s,])")) {
        set beresp.http.x-age-reset = "1";
    }
    unset beresp.http.x-browser-ttl;
    # Falls through to the builtin vcl_backend_response, which honours Cache-Control/Expires
    # (s-maxage, max-age) and makes no-store/no-cache/private/Set-Cookie answers hit-for-miss.
}

# Experiments: the routing answer names each variant's immutable rendition (x-experiment-url-N),
# its cut point (x-experiment-cut-N) and the control. The visitor id (X-Visitor-Id, else the
# cookie the answer names) is hashed exactly as lib/experiment-assignment.ts does: the shard key is
# the last four bytes of SHA-256("<experiment id>:<visitor id>"), little-endian, modulo 10000.
# Up to four variants (MAX_EXPERIMENT_VARIANTS in api/experiments/create.ts).
sub cdn_experiment_assign {
    set req.http.x-exp-id = req.http.x-exp-visitor;
    if (req.http.x-exp-id !~ "^[A-Za-z0-9._:-]{1,128}$" && resp.http.x-experiment-cookie ~ "^[A-Za-z0-9_-]{1,64}$") {
        cookie.parse(req.http.x-exp-cookie);
        set req.http.x-exp-id = cookie.get(resp.http.x-experiment-cookie);
    }
    set req.http.x-exp-index = resp.http.x-experiment-control;
    if (req.http.x-exp-id ~ "^[A-Za-z0-9._:-]{1,128}$") {
        set req.http.x-exp-bucket = experiment_hash.key(resp.http.x-experiment-id + ":" + req.http.x-exp-id) % 10000;
        if (std.integer(req.http.x-exp-bucket, 0) < std.integer(resp.http.x-experiment-cut-0, 10000)) {
            set req.http.x-exp-index = "0";
        } elsif (std.integer(req.http.x-exp-bucket, 0) < std.integer(resp.http.x-experiment-cut-1, 10000)) {
            set req.http.x-exp-index = "1";
        } elsif (std.integer(req.http.x-exp-bucket, 0) < std.integer(resp.http.x-experiment-cut-2, 10000)) {
            set req.http.x-exp-index = "2";
        } else {
            set req.http.x-exp-index = "3";
        }
    }
    if (req.http.x-exp-index == "0") {
        set req.url = resp.http.x-experiment-url-0;
        set req.http.x-exp-variant = resp.http.x-experiment-variant-0;
    } elsif (req.http.x-exp-index == "1") {
        set req.url = resp.http.x-experiment-url-1;
        set req.http.x-exp-variant = resp.http.x-experiment-variant-1;
    } elsif (req.http.x-exp-index == "2") {
        set req.url = resp.http.x-experiment-url-2;
        set req.http.x-exp-variant = resp.http.x-experiment-variant-2;
    } else {
        set req.url = resp.http.x-experiment-url-3;
        set req.http.x-exp-variant = resp.http.x-experiment-variant-3;
    }
    unset req.http.x-exp-id;
    unset req.http.x-exp-bucket;
    unset req.http.x-exp-index;
}

sub vcl_deliver {
    if (req.restarts == 0 && req.http.x-experiment-route && resp.status == 200 && resp.http.x-experiment-count) {
        # Look the variant's immutable rendition up (cached once for everyone) under its own URL.
        call cdn_experiment_assign;
        return (restart);
    }
    if (req.restarts > 0 && req.http.x-exp-variant) {
        # Per visitor: a browser may keep it a minute (an experiment can stop); shared caches may not.
        set resp.http.X-Experiment-Variant = req.http.x-exp-variant;
        set resp.http.Cache-Control = "private, max-age=60";
        set resp.http.Vary = "Cookie, X-Visitor-Id";
        unset resp.http.x-age-reset;
        set resp.http.Age = "0";
    }
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # Internal: how objects are tagged and found for purging is nobody else's business.
    unset resp.http.xkey;
    unset resp.http.x-url;
    unset resp.http.Surrogate-Key;
    unset resp.http.Surrogate-Control;
    unset resp.http.x-amz-meta-surrogate-key;
    unset resp.http.x-amz-request-id;
    unset resp.http.x-amz-id-2;
    unset resp.http.X-Varnish;
    if (resp.http.x-age-reset) {
        set resp.http.Age = "0";
        unset resp.http.x-age-reset;
    }
}

sub vcl_synth {
    # Plain answers for tools and refusals; the builtin would send an HTML page and `Retry-After: 5`.
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    if (req.method == "PURGE" && req.http.X-Purged) {
        set resp.http.X-Purged = req.http.X-Purged;
    }
    if (req.method == "BAN" && req.http.x-ban-error) {
        set resp.reason = resp.reason + ": " + req.http.x-ban-error;
    }
    if (resp.status == 405) {
        set resp.http.Allow = "GET, HEAD";
    }
    if (resp.status == 404) {
        # A refusal for a private URL must not be cached by browsers or proxies either.
        set resp.http.Cache-Control = "no-store";
    }
    set resp.body = resp.reason + {"
"};
    return (deliver);
}
