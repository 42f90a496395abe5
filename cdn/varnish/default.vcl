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
#   sub site_backend_fetch { }                         per-site bereq changes (e.g. the S3 Host)
# cdn/varnish/site.example.vcl is a template; test/varnish.ts renders one per test run.
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

include "site.vcl";

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
    if (req.method == "GET" || req.method == "HEAD") {
        # Objects are public and never vary by cookie; a cookie on the CDN's domain must not turn
        # every request into a pass.
        unset req.http.Cookie;
    }
    # Falls through to the builtin vcl_recv (host normalisation, pass for non-GET and Authorization).
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
    # Falls through to the builtin vcl_backend_response, which honours Cache-Control/Expires
    # (s-maxage, max-age) and makes no-store/no-cache/private/Set-Cookie answers hit-for-miss.
}

sub vcl_deliver {
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
}

sub vcl_synth {
    if (req.method == "PURGE" || req.method == "BAN" || req.url == "/_varnish/health") {
        # Plain answers for tools; the builtin would send an HTML page and `Retry-After: 5`.
        set resp.http.Content-Type = "text/plain; charset=utf-8";
        if (req.method == "PURGE" && req.http.X-Purged) {
            set resp.http.X-Purged = req.http.X-Purged;
        }
        if (req.method == "BAN" && req.http.x-ban-error) {
            set resp.reason = resp.reason + ": " + req.http.x-ban-error;
        }
        set resp.body = resp.reason + {"
"};
        return (deliver);
    }
}
