-- Programming mode in mode C: option select Y = 1, P0 with the password operand, P1
-- with the password, ACK; a wrong password is refused; R1 reads, W1 writes, R5 reads
-- a load profile (IEC 62056-21:2002 6.4.3, 6.3.7). Against a real meter, give its P1
-- password with --param password=...
local flag = require "flag"
local REQ = flag.REQ

scenario "programming mode with the right password" {
  tags = { "iec62056-21", "programming", "password" },
  requirements = { REQ.prog },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    t:step("P1 with the password", function()
      local r = t:ok(c:program(t:param("password", "00000000")))
      t:expect(r.reply, "answer to the right password"):equals("ACK")
      t:measure("P0 operand", r.data or ""):record()
    end)
    t:step("sign off with B0", function() t:ok(c:sign_off()) end)
  end }

scenario "a wrong password is refused" {
  tags = { "iec62056-21", "programming", "password" },
  requirements = { REQ.prog },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    local pw = t:param("password", "00000000")
    local wrong = pw == "12345678" and "87654321" or "12345678"
    t:step("P1 with a wrong password", function()
      local r, msg, code, res = c:program(wrong)
      t:expect(r, "programming mode with a wrong password"):is_nil()
      t:expect(code, "outcome of a wrong password"):equals("MS_EACCES")
      t:measure("refusal", res and res.reply or "none"):record()
      t:expect(res and res.reply, "the meter's refusal"):one_of({ "BREAK", "ERROR", "NAK" })
      if res and res.reply ~= "BREAK" then c:sign_off() end
    end)
    if t.sim then
      t:step("the meter counted it", function()
        t:expect(m:state().ports[1].stats.wrong_passwords, "wrong passwords seen"):equals(1)
      end)
    end
  end }

scenario "R1 reads a register in programming mode" {
  tags = { "iec62056-21", "programming", "r1" },
  requirements = { REQ.command },
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    t:step("enter programming mode", function() t:ok(c:program(t:param("password", "00000000"))) end)
    t:step("R1 1.8.0", function()
      local v, unit = t:ok(c:read("1.8.0"))
      t:expect(v, "A+ total", REQ.command):matches("^%d+%.?%d*$")
      t:expect(unit, "unit of A+"):equals("kWh")
      if t.sim then
        for _, reg in ipairs(m:state().registers) do
          if reg.obis == "1-0:1.8.0*255" then
            t:expect(tonumber(v), "A+ read over R1 against the simulator's register")
              :equals(tonumber(reg.text or reg.value))
          end
        end
      end
    end)
    t:step("R1 of an address the meter does not have", function()
      local r = t:ok(c:command("R1", "99.99.99()"))
      t:expect(r.data, "answer to an unknown address (an error message)", REQ.command)
        :matches("^%([^()]*%)$")
    end)
    t:step("sign off", function() t:ok(c:sign_off()) end)
  end }

scenario "W1 sets the meter's time" {
  tags = { "iec62056-21", "programming", "w1" },
  requirements = { REQ.command },
  sim_only = true, -- writes the clock: not something to do to a meter in service
  function(t)
    local m <close> = t:meter{}
    local c <close> = m:iec21()
    t:step("enter programming mode", function() t:ok(c:program(t:param("password", "00000000"))) end)
    t:step("W1 0.9.1(120000)", function()
      local r = t:ok(c:write("0.9.1", "120000"))
      t:expect(r.reply, "answer to W1 of the time", REQ.command):equals("ACK")
      local v = t:ok(c:read("0.9.1"))
      -- the stepped clock stands still: the time reads back as written
      t:expect(v, "time read back after W1"):equals("120000")
    end)
    t:step("sign off", function() t:ok(c:sign_off()) end)
  end }

scenario "R5 reads the load profile P.01" {
  tags = { "iec62056-21", "programming", "r5", "load-profile" },
  requirements = { REQ.command },
  sim_only = true, -- moves the simulation clock
  function(t)
    local m <close> = t:meter{ load = "constant:2000", start = "2016-06-01T00:00:00Z" }
    m:advance(2 * 3600)
    local c <close> = m:iec21()
    t:step("enter programming mode", function() t:ok(c:program(t:param("password", "00000000"))) end)
    t:step("R5 P.01 for one hour", function()
      -- 02:00..03:00 local time (CEST) = 00:00..01:00 UTC: four 15-minute entries
      local r = t:ok(c:command("R5", "P.01(1606010200;1606010300)"))
      t:expect(r.reply, "answer to R5 P.01"):equals("DATA")
      local header = r.data:match("^(P%.01%b()[^\r\n]*)\r\n")
      t:expect(header, "load profile header P.01(time)(status)(period)(n)...", REQ.command)
        :not_nil()
      local read, expected = {}, {}
      local i = 0
      for line in r.data:gmatch("[^\r\n]+") do
        if not line:match("^P%.") then
          i = i + 1
          local ap = line:match("^%(([%d%.]+)%)")
          read[#read + 1] = { i * 15, tonumber(ap) }
          expected[#expected + 1] = { i * 15, 0.5 } -- 2 kW for 15 minutes
        end
      end
      t:measure("entries in one hour", #read):equals(4, { requirement = REQ.command })
      for k, p in ipairs(read) do
        t:expect(p[2], "A+ of entry " .. k .. " (kWh)"):equals(0.5)
      end
      t:plot{ title = "load profile P.01, A+ per 15 min at 2 kW",
        x = { label = "minutes after 02:00", kind = "number" },
        y = { label = "energy", unit = "kWh" },
        series = { { name = "read", points = read }, { name = "expected", points = expected } } }
    end)
    t:step("sign off", function() t:ok(c:sign_off()) end)
  end }
