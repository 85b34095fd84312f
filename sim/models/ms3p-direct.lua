-- metersim model: three-phase direct-connected electricity meter, 2 rates, IEC 62056-21
-- mode C (300 -> 9600 Bd). Schema: docs/models.md.
-- Readout layout after real mode C readouts (the Iskra MT174 capture in
-- ../shared/data/iec62056-21/smartmeter-obis/): full A-B:C.D.E*F addresses, energy in
-- kWh with 3 decimals (Wh resolution), power in kW, max demand with its timestamp.
return {
  name = "ms3p-direct",
  description = "Three-phase direct meter, 230/400 V, 2-rate day tariff, IEC 62056-21 mode C",
  manufacturer = "MSM",        -- FLAG manufacturer ID (uppercase 3rd letter: tr >= 200 ms)
  serial = "60012345",
  device_address = "60012345",
  firmware = "1.00",
  phases = 3,
  phase_share = { 40, 35, 25 }, -- how the load divides over L1, L2, L3 (%)
  nominal_voltage = 230,        -- V
  frequency = 50,               -- Hz
  power_factor = 0.95,          -- of the load: R+ = A+ * tan(acos(0.95))
  timezone = "CET",             -- CET/CEST with the EU daylight-saving rule
  demand_period = 900,          -- s, block demand
  -- Tariff calendar (COSEM Activity Calendar): rate 1 on working days 06:00-22:00, rate 2
  -- at night, at weekends and on the special days.
  calendar = {
    name = "T2-STD",
    rates = 2,
    days = {
      { name = "working", { "00:00", 2 }, { "06:00", 1 }, { "22:00", 2 } },
      { name = "rest", { "00:00", 2 } },
    },
    weeks = {
      { name = "standard", "working", "working", "working", "working", "working", "rest", "rest" },
    },
    seasons = { { name = "all year", start = "01-01", week = "standard" } },
    special_days = { { "01-01", "rest" }, { "05-01", "rest" }, { "12-25", "rest" }, { "12-26", "rest" } },
  },
  billing = { day = 1, time = "00:00", capacity = 15 }, -- monthly end of billing
  logs = { standard = 200, power = 100, clock = 100, config = 200, disconnect = 100 },
  -- direct-connected: a load switch (COSEM Disconnect control 0-0:96.3.10.255).
  -- control_mode 1 (IEC 62056-6-2 class 70): a remote reconnect only arms it, the
  -- customer closes it with the button.
  breaker = { mode = 1, reconnect_wait_s = 0 },
  -- DLMS/COSEM (docs/cosem.md): logical device 1; the default clients 16 (public), 17
  -- (LLS) and 1 (HLS-GMAC); pushes (Push setup 0-0:25.9.0.255) go nowhere until set.
  dlms = { logical_device = 1, push = "" },
  battery_response = "continue", -- PMU option (a); "billing" (b), "freeze" (c)
  profiles = {
    -- load profile 1: energy per 15 minutes (VDEW P.01), two months
    { name = "P.01", obis = "1-0:99.1.0*255", period = 900, capacity = 96 * 62, kind = "delta",
      channels = { "1-0:1.8.0*255", "1-0:2.8.0*255", "1-0:3.8.0*255", "1-0:4.8.0*255" } },
    -- daily profile: register values at local midnight
    { name = "P.02", obis = "1-0:99.2.0*255", period = 86400, capacity = 400, kind = "value",
      channels = { "1-0:1.8.1*255", "1-0:1.8.2*255", "1-0:2.8.1*255", "1-0:2.8.2*255" } },
    -- analysis logger: instantaneous values at each quarter hour, one week
    { name = "P.03", obis = "1-0:99.3.0*255", period = 900, capacity = 96 * 7, kind = "value",
      channels = { "1-0:32.7.0*255", "1-0:31.7.0*255", "1-0:1.7.0*255", "1-0:2.7.0*255" } },
  },
  iec62056_21 = {
    mode = "C",
    baud = 9600,
    identification = "MS3P-D100",
    address = "60012345",
    password = "00000000",       -- P1
    wrong_password = "break",    -- the standard's refusal: B0, end of programming mode
    address_style = "full",
    readout = {
      { "0-0:96.1.0*255" },                  -- serial number (C.1.0)
      { "1-0:0.0.0*255" },                   -- device address
      { "1-0:0.9.1*255" },                   -- time hhmmss
      { "1-0:0.9.2*255" },                   -- date YYMMDD
      { "1-0:0.1.0*255", "", 2, 0 },         -- billing reset counter
      { "1-0:1.8.0*255", "kWh", 7, 3 },
      { "1-0:1.8.1*255", "kWh", 7, 3 },
      { "1-0:1.8.2*255", "kWh", 7, 3 },
      { "1-0:2.8.0*255", "kWh", 7, 3 },
      { "1-0:2.8.1*255", "kWh", 7, 3 },
      { "1-0:2.8.2*255", "kWh", 7, 3 },
      { "1-0:3.8.0*255", "kvarh", 7, 3 },
      { "1-0:3.8.1*255", "kvarh", 7, 3 },
      { "1-0:3.8.2*255", "kvarh", 7, 3 },
      { "1-0:4.8.0*255", "kvarh", 7, 3 },
      { "1-0:4.8.1*255", "kvarh", 7, 3 },
      { "1-0:4.8.2*255", "kvarh", 7, 3 },
      { "1-0:1.6.0*255", "kW", 2, 3 },       -- max demand A+ with its time
      { "1-0:2.6.0*255", "kW", 2, 3 },
      { "1-0:1.2.0*255", "kW", 4, 3 },       -- cumulative max demand
      { "0-0:96.14.0*255", "", 1, 0 },       -- rate in force
      { "1-0:1.8.0*1", "kWh", 7, 3 },        -- A+ at the last end of billing
      { "1-0:1.6.0*1", "kW", 2, 3 },         -- max demand of the last billing period
      { "1-0:1.7.0*255", "kW", 2, 3 },
      { "1-0:2.7.0*255", "kW", 2, 3 },
      { "1-0:21.7.0*255", "kW", 2, 3 },
      { "1-0:41.7.0*255", "kW", 2, 3 },
      { "1-0:61.7.0*255", "kW", 2, 3 },
      { "1-0:32.7.0*255", "V", 3, 1 },
      { "1-0:52.7.0*255", "V", 3, 1 },
      { "1-0:72.7.0*255", "V", 3, 1 },
      { "1-0:31.7.0*255", "A", 3, 2 },
      { "1-0:51.7.0*255", "A", 3, 2 },
      { "1-0:71.7.0*255", "A", 3, 2 },
      { "1-0:13.7.0*255", "", 1, 3 },        -- power factor
      { "1-0:14.7.0*255", "Hz", 2, 2 },
      { "0-0:97.97.0*255" },                 -- error register (F.F)
    },
  },
}
