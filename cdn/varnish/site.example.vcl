# Site-specific part of cdn/varnish/default.vcl. Copy it as "site.vcl" next to default.vcl (or
# anywhere on vcl_path) and edit. test/varnish.ts renders its own copy for every test run.

# The origin: the API (its /files route) or an S3-compatible endpoint, over plain HTTP.
backend origin {
    .host = "127.0.0.1";
    .port = "3000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
}

# Who may PURGE and BAN: the publish workers' addresses. Loopback only by default.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub site_recv {
    # The public host (PUBLIC_BASE_URL's). Every request is looked up as if sent to it, so no
    # Host a client invents can make a second copy of an object in the cache.
    set req.http.host = "cdn.example.com";
    # The object key the URL names: the path less the origin's prefix, which is "/files/" for the
    # API's file route, "/<bucket>/" for a path-style bucket, "/" for a virtual-hosted one. A URL
    # outside the prefix sets no key and gets a 404 from the edge.
    if (req.url ~ "^/files/") {
        set req.http.x-object-key = regsub(req.url, "^/files/", "");
    }
}

sub site_backend_fetch {
    # An S3 origin with virtual-hosted buckets needs its own Host, e.g.:
    # set bereq.http.host = "my-bucket.s3.eu-west-1.amazonaws.com";
}
