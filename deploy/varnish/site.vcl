# site.vcl for docker-compose.yml: Varnish in front of the API's /files route on the compose network.

backend origin {
    .host = "api";
    .port = "3000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
}

# The publish workers purge from the compose network (docker-compose.yml fixes its subnet).
acl purgers {
    "127.0.0.1";
    "::1";
    "172.28.0.0"/16;
}

sub site_recv {
    # PUBLIC_BASE_URL's host: one cache entry per object whatever Host a client sends.
    set req.http.host = "localhost:8080";
    if (req.url ~ "^/files/") {
        set req.http.x-object-key = regsub(req.url, "^/files/", "");
    }
}

sub site_backend_fetch {
}
