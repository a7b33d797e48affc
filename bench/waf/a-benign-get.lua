-- (a) A benign GET as a browser sends it: eight headers, three query
-- parameters. The page number varies so no layer sees one repeated URL.
local headers = {
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
  ["Accept-Language"] = "en-US,en;q=0.9,de;q=0.8",
  ["Accept-Encoding"] = "gzip, deflate, br",
  ["Referer"] = "https://localhost/products",
  ["Cookie"] = "session=8f14e45fceea167a5a36dedd4bea2543; theme=dark",
  ["Cache-Control"] = "no-cache",
  ["Upgrade-Insecure-Requests"] = "1",
}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/products/list?category=shoes&page=" .. (n % 500) .. "&sort=price_asc", headers)
end
