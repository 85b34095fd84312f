-- The same reader session over a TCP connection instead of a serial line (meters behind
-- a serial-to-Ethernet converter, and metersim's --tcp listener): no line rates, the
-- messages unchanged.
scenario "readout over TCP" {
  tags = { "iec62056-21", "tcp" },
  function(t)
    local m <close> = t:meter{ tcp = true }
    local c <close> = m:iec21{ transport = "tcp" }
    t:step("readout", function()
      local r = t:ok(c:readout())
      t:expect(r.ident, "identification over TCP"):matches("^/%a%a%a")
      t:expect(r.values["1-0:1.8.0*255"], "A+ in the readout"):matches("^%d+%.%d+$")
    end)
  end }
