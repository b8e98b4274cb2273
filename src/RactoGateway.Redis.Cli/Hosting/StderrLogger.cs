using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>Warnings and errors of a library component (e.g. a summarization that failed, which the library logs and
/// does not throw) as one line each on stderr, <c>chatmem: {message}: {cause}</c>; counted, so that a verb can exit
/// non-zero.</summary>
internal sealed class StderrLogger<T> : ILogger<T>
{
    private int _count;

    /// <summary>Warnings and errors written so far.</summary>
    public int Count => Volatile.Read(ref _count);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (!IsEnabled(logLevel))
        {
            return;
        }

        Interlocked.Increment(ref _count);
        var cause = exception is AggregateException { InnerExceptions: [var first, ..] } ? first : exception;
        var line = cause is null ? formatter(state, exception) : $"{formatter(state, exception)}: {cause.Message}";
        Console.Error.WriteLine($"chatmem: {line.ReplaceLineEndings(" ")}");
    }
}
