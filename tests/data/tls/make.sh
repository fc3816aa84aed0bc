#!/bin/sh
# Regenerates the test-only TLS material of the HTTPS tests (never used outside tests):
#   ca.pem / ca.key              a self-signed "klarna-pos test CA"
#   localhost.pem / .key         server certificate for localhost, signed by the CA
#   wrong-name.pem / .key        server certificate for shop.example only, signed by the CA
# Valid for 100 years so that the tests never expire. Run from this directory.
set -eu
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
    -subj "/CN=klarna-pos test CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
server() {
    name=$1 san=$2
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$name" -keyout "$name.key" -out "$name.csr"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days $days \
        -extfile "$name.ext" -out "$name.pem"
    rm -f "$name.csr" "$name.ext"
}
server localhost "DNS:localhost"
server wrong-name "DNS:shop.example"
rm -f ca.srl
