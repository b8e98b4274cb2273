using Spectre.Console;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// A progress bar on stderr, never on stdout (which carries the data), and only when stderr is a terminal; otherwise the
/// work runs silently.
/// </summary>
internal static class StderrProgress
{
    /// <summary>Runs <paramref name="body"/>, giving it a progress sink that moves the bar.</summary>
    public static async Task<T> RunAsync<T>(string label, Func<IProgress<ChatMemoryProgress>?, Task<T>> body)
    {
        if (Console.IsErrorRedirected)
        {
            return await body(null);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(label), maxValue: 1);
                var result = await body(new Progress<ChatMemoryProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                }));
                task.Value = task.MaxValue;
                return result;
            });
    }
}
