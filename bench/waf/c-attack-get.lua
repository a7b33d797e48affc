-- (c) An attack: SQL injection in a query parameter. Blocked (403).
local headers = {
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  ["Accept-Language"] = "en-US,en;q=0.9",
}
request = function()
  return wrk.format("GET", "/products/list?id=1'%20OR%20'1'='1&page=2&sort=price", headers)
end
