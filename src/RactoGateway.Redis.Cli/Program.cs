using System.CommandLine;
using RactoGateway.Redis.Cli;
using RactoGateway.Redis.Cli.Commands;

// chatmem: the root command and its global options; each verb lives in Commands/<Verb>Command.cs.
var root = new RootCommand("Inspect and edit RactoGateway.Redis conversation memory. Without --redis or CHATMEM_REDIS, " +
    "an embedded Garnet server persisted under --data-dir is used (the running chatmem serve of --data-dir, if any).\n" + ExitCodes.Help);
foreach (var option in CliOptions.Global)
{
    root.Options.Add(option);
}

root.Subcommands.Add(AppendCommand.Create());
root.Subcommands.Add(ShowCommand.Create());
root.Subcommands.Add(CountCommand.Create());
root.Subcommands.Add(ClearCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(ListCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(ImportCommand.Create());
root.Subcommands.Add(StatsCommand.Create());
root.Subcommands.Add(TrimCommand.Create());
root.Subcommands.Add(ChatCommand.Create());
root.Subcommands.Add(RecallCommand.Create());
root.Subcommands.Add(OwnerCommand.Create());
root.Subcommands.Add(OwnerCommand.CreateErase());
root.Subcommands.Add(ForkCommand.Create());
root.Subcommands.Add(TruncateCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(McpCommand.Create());

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Bad arguments: one line, exit 2 (System.CommandLine would print every error and the whole help).
    var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
    await Console.Error.WriteLineAsync($"chatmem: {error.Message} (see chatmem --help)");
    return ExitCodes.BadInput;
}

// After Ctrl-C a verb gets up to 30 s to stop and report (bench prints its partial result and deletes its keys); the
// default 2 s ran out on a loaded machine, and the forced exit from the signal handler then hung the process.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
