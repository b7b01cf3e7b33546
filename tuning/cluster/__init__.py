"""Many processes, one search: KerasTuner's chief/worker engine, the local
launcher, the record of who ran what, and TLS."""
