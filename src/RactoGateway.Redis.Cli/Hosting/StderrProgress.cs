using Spectre.Console;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>
/// A progress bar on stderr, never on stdout (which carries the data). Shown only when stderr is a terminal and the run
/// has at least <see cref="Threshold"/> items; otherwise the work runs silently.
/// </summary>
internal static class StderrProgress
{
    /// <summary>Runs shorter than this many items show no bar.</summary>
    public const double Threshold = 200;

    /// <summary>Runs <paramref name="body"/>, giving it a callback that advances the bar by an amount.</summary>
    public static async Task<T> RunAsync<T>(string label, double total, Func<Action<double>, Task<T>> body)
    {
        if (Console.IsErrorRedirected || total < Threshold)
        {
            return await body(_ => { });
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(label), maxValue: total);
                var result = await body(task.Increment);
                task.Value = total;
                return result;
            });
    }
}
