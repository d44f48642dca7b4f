"""Background work on a job engine (procrastinate): the named jobs (`catalog`) and the engine's handle in a
process (`engine`). docs/jobs.md explains the choice of engine and the guarantees."""
