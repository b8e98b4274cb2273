namespace ReadmeSnippets;

/// <summary>README.md, "Throughput: auto-pipelining, the GC, connections and the thread pool": the snippet verbatim.</summary>
internal static class ThreadPoolMinimum
{
    public static void Run()
    {
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));   // about the number of concurrent requests
    }
}
