using Microsoft.Extensions.Logging;

namespace RactoGateway.Redis;

// Event ids are unique across RactoGateway.Redis: the table is in docs/architecture.md ("Log events").
// The conversation id stays out of logs, as it stays out of telemetry unless opted in: it can identify a person.
public sealed partial class ChatMemorySummarizer
{
    [LoggerMessage(10, LogLevel.Warning, "A summarization failed; its messages stay pending for a later try", EventName = "SummarizationFailed")]
    private static partial void SummarizationFailed(ILogger logger, Exception exception);

    [LoggerMessage(11, LogLevel.Warning, "A sweep for pending messages failed; it runs again at the next interval", EventName = "SummarySweepFailed")]
    private static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(12, LogLevel.Debug, "Another summarizer works on the conversation; waiting for its lease", EventName = "SummaryLeaseBusy")]
    private static partial void LeaseBusy(ILogger logger);

    [LoggerMessage(13, LogLevel.Information, "The server refused the summarizers' lease (an ACL user limited to conversation keys): summarizers may race for the same messages, which still fold in exactly once", EventName = "SummaryLeaseRefused")]
    private static partial void LeaseRefused(ILogger logger);
}
