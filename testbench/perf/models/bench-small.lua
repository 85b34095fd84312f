-- Benchmark model: the ms3p-direct meter with a short readout (5 data sets, about 150
-- bytes), so that a readout at 300 Bd takes seconds, not a minute.
return {
  name = "bench-small",
  description = "ms3p-direct with a 5-line readout, for timing benchmarks",
  manufacturer = "MSM",
  serial = "60012345",
  timezone = "CET",
  tariff = { rates = 2, day = { { "00:00", 2 }, { "06:00", 1 }, { "22:00", 2 } } },
  iec62056_21 = {
    mode = "C",
    baud = 9600,
    identification = "MS3P-D100",
    readout = {
      { "0-0:96.1.0*255" },
      { "1-0:0.9.1*255" },
      { "1-0:1.8.0*255", "kWh", 7, 3 },
      { "1-0:1.8.1*255", "kWh", 7, 3 },
      { "1-0:1.8.2*255", "kWh", 7, 3 },
    },
  },
}
