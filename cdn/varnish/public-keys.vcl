# Generated from PUBLIC_KEY_PATTERNS in cdn/keys.ts by `npx tsx cdn/varnish/public-keys.ts`; do not edit.
# The object keys an anonymous client may read through the edge; every other key is a synthetic 404.

sub cdn_public_key {
    if (req.http.x-object-key !~ "^(?:t\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/r\/[0-9a-f]{64}\/[1-9][0-9]{0,5}\.(?:avif|webp|jpg)|t\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/r\/[0-9a-f]{64}\/master\.png|t\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/assets\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/manifest\.json|t\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/assets\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/latest\/[1-9][0-9]{0,5}\.(?:avif|webp|jpg)|t\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/sku\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}\/(?:[1-9][0-9]{0,5}\.(?:avif|webp|jpg)|manifest\.json)|t\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/assets\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/latest\/[a-z][a-z0-9-]{0,31}\/[1-9][0-9]{0,5}\.(?:avif|webp|jpg)|t\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/sku\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}\/[a-z][a-z0-9-]{0,31}\/[1-9][0-9]{0,5}\.(?:avif|webp|jpg))$") {
        return (synth(404, "Not Found"));
    }
}

# The on-demand image paths (ON_DEMAND_PATH_PATTERN in cdn/on-demand-url.ts), query excluded.
sub cdn_public_on_demand {
    if (regsub(req.url, "[?].*$", "") !~ "^(?:\/img\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/[A-Za-z0-9][A-Za-z0-9_-]{0,63}\/(?:cutout|original|[a-z][a-z0-9-]{0,31})(?:@[0-9a-f]{64})?)$") {
        return (synth(404, "Not Found"));
    }
}
