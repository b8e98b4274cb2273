using System.CommandLine;

namespace RactoGateway.Redis.Cli.Hosting;

/// <summary>The <c>--match</c> and <c>--literal</c> options of the verbs that work on many conversations.</summary>
internal static class ConversationKeys
{
    /// <summary>New instances for one command.</summary>
    public static (Option<string?> Match, Option<bool> Literal) Options() =>
        (new Option<string?>("--match") { Description = "Only conversation ids matching this glob (* ? [abc] \\x); default: all." },
         new Option<bool>("--literal") { Description = "Match the --match text literally: its * ? [ ] \\ are not glob characters." });
}
