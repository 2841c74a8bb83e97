-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "waiting" BOOLEAN NOT NULL DEFAULT false;
