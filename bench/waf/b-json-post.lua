-- (b) A benign 2 KB JSON POST (an order document).
local items = {}
for i = 1, 20 do
  items[#items + 1] = '{"sku":"SKU-' .. (700000 + i) .. '","name":"Running shoe, blue, size 42","quantity":1,"price":89.90,"gift":false}'
end
local body = '{"customer":{"id":48213,"name":"Jane Example","email":"jane@example.com","address":{"street":"12 Market Street","city":"Springfield","zip":"12345","country":"US"}},"items":[' .. table.concat(items, ",") .. '],"note":"Please leave the parcel at the back door."}'
local headers = {
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  ["Accept"] = "application/json",
  ["Accept-Language"] = "en-US,en;q=0.9",
  ["Content-Type"] = "application/json",
  ["Cookie"] = "session=8f14e45fceea167a5a36dedd4bea2543",
}
request = function()
  return wrk.format("POST", "/api/orders", headers, body)
end
