-- The Lua peer for `make bench`: App Service's behaviour written as an Envoy Lua filter, the way
-- a user would without this project. Strips the client's X-ARR-ClientCert, answers 401 without a
-- certificate or outside its validity dates, and forwards base64 of the DER (the PEM body).
function envoy_on_request(handle)
  handle:headers():remove("x-arr-clientcert")
  local ssl = handle:streamInfo():downstreamSslConnection()
  if ssl == nil or not ssl:peerCertificatePresented() then
    handle:respond({[":status"] = "401"}, "client certificate required\n")
    return
  end
  local now = os.time()
  if now < ssl:validFromPeerCertificate() or now > ssl:expirationPeerCertificate() then
    handle:respond({[":status"] = "401"}, "client certificate invalid\n")
    return
  end
  local pem = ssl:urlEncodedPemEncodedPeerCertificate()
  pem = pem:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  local b64 = pem:gsub("%-%-%-%-%-[%u ]+%-%-%-%-%-", ""):gsub("%s", "")
  handle:headers():replace("x-arr-clientcert", b64)
end
