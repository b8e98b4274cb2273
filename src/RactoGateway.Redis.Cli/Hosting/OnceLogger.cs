using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>The first warning of a library component as one line on stderr, <c>chatmem: {format with the reason}</c>,
/// and nothing after it: recall logs that the server has no vector sets once when indexing and once when recalling,
/// and the chat goes on; one note is enough. Not counted: it does not change the exit code.</summary>
internal sealed class OnceLogger<T>(string format) : ILogger<T>
{
    private int _written;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && Volatile.Read(ref _written) == 0;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (logLevel < LogLevel.Warning || Interlocked.Exchange(ref _written, 1) != 0)
        {
            return;
        }

        // The library's messages carry the cause as {Reason}; without one, the whole message.
        var reason = state is IEnumerable<KeyValuePair<string, object?>> fields && fields.FirstOrDefault(f => f.Key == "Reason").Value is { } r
            ? r.ToString()!.Trim()
            : formatter(state, exception).Trim();
        var line = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, reason);
        Console.Error.WriteLine($"chatmem: {line.ReplaceLineEndings(" ")}");
    }
}
