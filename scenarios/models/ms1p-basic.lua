-- metersim model for the scenarios: a single-phase meter with a short readout, so that
-- the protocol modes that read out at 300 Bd (mode A, mode C without a rate switch)
-- stay quick. Mode C by default; the mode scenarios switch it with
-- set = { ["iec62056_21.mode"] = "A" | "B" | "D" }. Schema: docs/models.md.
return {
  name = "ms1p-basic",
  description = "Single-phase meter, one rate, short IEC 62056-21 readout (scenarios)",
  manufacturer = "MSB",
  serial = "71000001",
  firmware = "1.00",
  phases = 1,
  phase_share = { 100 },
  timezone = "CET",
  iec62056_21 = {
    mode = "C",
    identification = "MS1P-B10",
    password = "11111111",
    readout = {
      { "0-0:96.1.0*255" },
      { "1-0:0.9.1*255" },
      { "1-0:0.9.2*255" },
      { "1-0:1.8.0*255", "kWh", 7, 3 },
      { "1-0:2.8.0*255", "kWh", 7, 3 },
      { "1-0:1.7.0*255", "kW", 2, 3 },
    },
  },
}
