"""The build benchmark (`python benchmarks/build_benchmark.py`), as modules.

* `inputs`: the synthetic download (made once with the fake generator);
* `page_cache`: making the input cold before each run;
* `measuring`: running a process tree and sampling its memory (PSS), disk use
  and I/O;
* `phases`: the build's phases (generation, shuffle and write), timed from
  TFDS's own progress lines in the log;
* `contenders`: what is compared, and running them in turns;
* `scaling`: serial fraction (Amdahl) and the projection to full ImageNet;
* `tables`, `profiling`, `environment`: the report;
* `cli`: the command line;
* `programs/`: the small programs some contenders run (`python -m ...`).
"""
