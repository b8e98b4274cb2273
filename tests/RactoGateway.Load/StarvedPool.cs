using System.Globalization;
using RactoGateway.Redis;

namespace RactoGateway.Load;

/// <summary>
/// Appends issued while the thread pool is starved: every pool worker is blocked (its maximum lowered to the number of
/// cores so that none is added), then <c>calls</c> appends to one conversation are issued together from a thread of its
/// own, "issued" is printed, and the workers stay blocked until a line arrives on stdin. Then it prints
/// "done &lt;succeeded&gt; &lt;failed&gt;".
/// </summary>
internal static class StarvedPool
{
    public static int Run(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: RactoGateway.Load starve <connection> <prefix> <calls>");
            return 2;
        }

        var calls = int.Parse(args[2], CultureInfo.InvariantCulture);
        using var memory = new RedisChatMemory(args[0], new ChatMemoryConfig { KeyPrefix = args[1], MaxTurns = calls });
        memory.Append("warm", ChatRoles.User, "warm"); // JIT and the script cache, before the pool is blocked

        ThreadPool.GetMaxThreads(out _, out var io);
        if (!ThreadPool.SetMaxThreads(Environment.ProcessorCount, io))
        {
            Console.Error.WriteLine("could not lower the pool's maximum");
            return 3;
        }

        using var release = new ManualResetEventSlim();
        using var blocked = new CountdownEvent(Environment.ProcessorCount);
        for (var i = 0; i < Environment.ProcessorCount; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ => { blocked.Signal(); release.Wait(); }, null);
        }

        if (!blocked.Wait(TimeSpan.FromSeconds(10)))
        {
            Console.Error.WriteLine("the pool's workers did not all start");
            return 3;
        }

        // This is the main thread, not a pool thread: the calls are issued with every worker blocked.
        var appends = Enumerable.Range(0, calls).Select(n => memory.AppendAsync("c", ChatRoles.User, $"m{n}")).ToArray();
        Console.WriteLine("issued");
        Console.Out.Flush();
        Console.ReadLine();
        release.Set();

        var finished = Task.WhenAll(appends).ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(30));
        Console.WriteLine($"done {appends.Count(a => a.IsCompletedSuccessfully)} {appends.Count(a => a.IsFaulted)}{(finished ? "" : " (not finished in 30 s)")}");
        return 0;
    }
}
