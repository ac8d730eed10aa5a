"""The equal-margin test: is a target reached more often when it is gold, at equal full-chain
rank, score gap and length? Its units (``units``), its fits (``fit``), its calibration by
simulation (``calibration``) and the study that runs them on a slice of rows (``study``)."""
