#!/bin/sh
# The compose file's proxy (deploy/compose.yaml) runs deploy/nginx/dailypapers.conf, which is written for
# nginx on a host (docs/proxy.md). The official nginx image runs this script before nginx starts
# (/docker-entrypoint.d/); it writes that file as /etc/nginx/conf.d/default.conf with its placeholders
# filled in for compose, and changes nothing else:
#
#   papers.example.org               -> $DAILYPAPERS_DOMAIN (server_name, certificate paths)
#   server 127.0.0.1:8001 ...;       -> server $DAILYPAPERS_UPSTREAM resolve ...; (the `web` service), looked
#                                       up again through Docker's DNS (127.0.0.11) as web containers come
#                                       and go (nginx 1.27.3 or newer)
#   server 127.0.0.1:8002 ...;       -> removed: the `web` service's processes sit behind one address
#   listen [::]:...;                 -> removed where the kernel has no IPv6 (as the image's own
#                                       10-listen-on-ipv6-by-default.sh decides)
#
# POSIX sh and awk (busybox's in the image); tests/deploy/test_deploy_files.py runs it on the real file.
set -eu

source=${DAILYPAPERS_NGINX_SOURCE:-/etc/dailypapers/nginx/dailypapers.conf}
target=${DAILYPAPERS_NGINX_TARGET:-/etc/nginx/conf.d/default.conf}
domain=${DAILYPAPERS_DOMAIN:-}
upstream=${DAILYPAPERS_UPSTREAM:-web:8000}
ipv6=1
[ -e "${DAILYPAPERS_IF_INET6:-/proc/net/if_inet6}" ] || ipv6=0  # the variable: for tests

case $domain in
    '' | *[!A-Za-z0-9.-]*) echo "$0: DAILYPAPERS_DOMAIN must be a host name, not '$domain'" >&2; exit 1 ;;
esac
case $upstream in
    '' | *[!A-Za-z0-9.:-]*) echo "$0: DAILYPAPERS_UPSTREAM must be host:port, not '$upstream'" >&2; exit 1 ;;
esac

awk -v domain="$domain" -v upstream="$upstream" -v ipv6="$ipv6" '
    /^[ \t]*server[ \t]+127\.0\.0\.1:8001[ \t;]/ {
        indent = $0; sub(/server.*/, "", indent)
        print indent "zone dailypapers_upstream 64k;"
        print indent "resolver 127.0.0.11 valid=10s ipv6=off;"
        sub(/127\.0\.0\.1:8001/, upstream " resolve")
        print
        replaced++
        next
    }
    /^[ \t]*server[ \t]+127\.0\.0\.1:8002[ \t;]/ { removed++; next }
    /^[ \t]*listen[ \t]+\[::\]/ && ipv6 == 0 { next }
    { gsub(/papers\.example\.org/, domain); print }
    END {
        if (replaced != 1 || removed != 1) {
            print "the upstream block no longer has the two 127.0.0.1:8001/8002 servers this script rewrites" > "/dev/stderr"
            exit 1
        }
    }
' "$source" > "$target.tmp"
mv "$target.tmp" "$target"
echo "$0: wrote $target from $source for $domain, upstream $upstream"
