using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/RactoGateway.Redis.Benchmarks -- --filter '*'
// The Redis benchmarks use CHATMEM_BENCH_REDIS (host:port) when set, else start a redis-server of their own.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
